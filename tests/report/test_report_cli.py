"""subtitle-vlm report: runs side by side (Markdown + PNGs) and the single-run loss curve."""

import json

import pytest
from PIL import Image

from subtitle_vlm.io import InputError
from subtitle_vlm.report.report_cli import main
from subtitle_vlm.report.runs import load_run
from subtitle_vlm.text.metrics import score_predictions


def _trainer_state(path, losses, runtime=12.5, evals=()):
    hist = [{"step": i + 1, "epoch": (i + 1) / len(losses), "loss": v, "learning_rate": 1e-4, "grad_norm": 1.0}
            for i, v in enumerate(losses)]
    hist += [{"step": s, "eval_loss": v, "eval_cer": v / 10, "eval_runtime": 0.3} for s, v in evals]
    hist.append({"step": len(losses), "train_runtime": runtime, "train_loss": sum(losses) / len(losses),
                 "train_samples_per_second": 3.0})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"global_step": len(losses), "log_history": hist}))


def _score(path, gold, pred):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(score_predictions(gold, pred).as_dict()))


def _png_ok(path):
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size[0] > 100 and im.size[1] > 100


def test_two_runs_side_by_side(tmp_path, capsys):
    a, b = tmp_path / "run_a", tmp_path / "run_b"
    # run a: final state in the run dir, score by the eval/score.json convention, memory in run_summary.json
    _trainer_state(a / "trainer_state.json", [3.0, 2.0, 1.5, 1.0], runtime=90.0, evals=[(2, 2.5), (4, 1.2)])
    (a / "summary.json").write_text(json.dumps({"peak_memory_mb": 2048.0, "peak_memory_kind": "cuda_max_allocated",
                                                "train_seconds": 91.0, "base_model": "tiny:qwen2_vl"}))
    _score(a / "eval" / "score.json", {"x1": "你好", "x2": "再見"}, {"x1": "你好", "x2": "再"})
    # run b: only checkpoints (the newest wins), memory in train_results.json
    _trainer_state(b / "checkpoint-2" / "trainer_state.json", [5.0, 4.0], runtime=1.0)
    _trainer_state(b / "checkpoint-3" / "trainer_state.json", [5.0, 4.0, 3.5], runtime=7200.0)
    (b / "train_results.json").write_text(json.dumps({"peak_memory_gb": 1.5}))
    base = tmp_path / "ppocr.json"
    _score(base, {"x1": "你好", "x2": "再見"}, {"x1": "你", "x2": ""})

    out = tmp_path / "report"
    assert main([str(a), str(b), "--out", str(out), "--score", f"ppocr={base}"]) == 0
    md = (out / "report.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line for line in md.splitlines() if line.startswith("| run_")
            or line.startswith("| ppocr")}
    assert set(rows) == {"run_a", "run_b", "ppocr"}
    assert "0.5000" in rows["run_a"] and "90.0 s" in rows["run_a"] and "gpu 2.00 GiB" in rows["run_a"]
    assert "tiny:qwen2_vl" in rows["run_a"] and "1.0000" in rows["run_a"]  # final loss
    assert "2.00 h" in rows["run_b"] and "1.50 GiB" in rows["run_b"] and "| 3 |" in rows["run_b"]
    assert "1.5000" in rows["ppocr"]  # (1 + 2) / 2 edits per row
    for png in ("loss_curves.png", "eval_curves.png", "scores.png"):
        assert f"]({png})" in md
        _png_ok(out / png)
    assert "run_a" in capsys.readouterr().out


def test_jsonl_loss_log_and_single_run_png(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    lines = [{"step": s, "loss": 4.0 / s} for s in range(1, 41)] + [{"step": 40, "eval_cer": 0.2}]
    (run / "loss_log.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines) + '{"step": 41, "lo')
    info = load_run(run)
    assert len(info.train_loss) == 40 and info.train_loss[-1] == (40.0, 0.1)  # partial last line dropped
    assert info.eval_metrics == {"eval_cer": [(40.0, 0.2)]}
    png = tmp_path / "loss.png"
    assert main([str(run / "loss_log.jsonl"), "--loss-png", str(png)]) == 0
    _png_ok(png)
    assert not list(tmp_path.glob(".loss.png.*"))  # atomic: no temp file left behind


def test_bad_inputs_name_the_problem(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no training loss"):
        main([str(empty), "--loss-png", str(tmp_path / "x.png")])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rows": 3}))
    with pytest.raises(InputError, match="not a score file"):
        main(["--out", str(tmp_path / "o"), "--score", f"x={bad}"])
    with pytest.raises(InputError, match="NAME=path"):
        main(["--out", str(tmp_path / "o"), "--score", "nothing"])
    (empty / "trainer_state.json").write_text("{not json")
    with pytest.raises(InputError, match="trainer_state.json"):
        main([str(empty), "--out", str(tmp_path / "o")])
    assert not (tmp_path / "o" / "report.md").exists()
