"""`subtitle-vlm dataset` end to end: exit codes, bad input messages, config files, the bash entry point."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from subtitle_vlm.cli import main as cli_main
from subtitle_vlm.data.check import check_file

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "datasets" / "scripts" / "generate_json_datasets.sh"


def _run(argv, capsys):
    rc = cli_main(["dataset", *map(str, argv)])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_export_then_check_every_file(make_frame_set, tmp_path, capsys):
    fs = make_frame_set(8)
    out = tmp_path / "out"
    rc, stdout, _ = _run(["--input", fs, "--out", out, "--train-ratio", "0.75", "--seed", "2"], capsys)
    assert rc == 0
    assert json.loads(stdout.strip().splitlines()[-1])["counts"] == {"train": 6, "val": 2}
    files = [p for p in out.rglob("*") if p.suffix in (".json", ".jsonl", ".csv")
             and p.name not in ("info.json", "summary.json", "dataset_config.json")]
    assert len(files) == 9  # 2 minicpmv + 2 tinyllava + 2 messages + 2 imagefolder + gold
    rc, stdout, _ = _run(["--check", *files], capsys)
    assert rc == 0 and stdout.count(": OK") == 9


def test_missing_metadata_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "imgs").mkdir()
    rc, _, err = _run(["--input", tmp_path / "imgs", "--out", tmp_path / "o"], capsys)
    assert rc == 2 and "no metadata.jsonl" in err


def test_every_image_missing_means_nothing_to_export(make_frame_set, tmp_path, capsys):
    fs = make_frame_set(2)
    for p in (fs / "frames").iterdir():
        p.unlink()
    rc, _, err = _run(["--input", fs, "--out", tmp_path / "o"], capsys)
    assert rc == 2
    assert "no usable labelled frames" in err and "image not found" in err and "metadata.jsonl:1" in err
    assert not (tmp_path / "o" / "minicpmv").exists()


def test_empty_frame_set(tmp_path, capsys):
    fs = tmp_path / "empty"
    fs.mkdir()
    (fs / "metadata.jsonl").write_text("", encoding="utf-8")
    rc, _, err = _run(["--input", fs, "--out", tmp_path / "o"], capsys)
    assert rc == 2 and "no usable labelled frames" in err


def test_strict_turns_skips_into_an_error(make_frame_set, tmp_path, capsys):
    fs = make_frame_set(3, extra_lines=[json.dumps({"file_name": "frames/gone.jpg", "text": "x"})])
    rc, _, err = _run(["--input", fs, "--out", tmp_path / "o", "--strict"], capsys)
    assert rc == 2 and "metadata.jsonl:4: image not found" in err and "--strict" in err
    rc, _, err = _run(["--input", fs, "--out", tmp_path / "o"], capsys)
    assert rc == 0 and "skipped" in err and "metadata.jsonl:4" in err


@pytest.mark.parametrize("flags, message", [
    (["--train-ratio", "0"], "--train-ratio"),
    (["--train-ratio", "1.5"], "--train-ratio"),
    (["--formats", "minicpmv,llava"], "unknown format(s) llava"),
    (["--prompt", "<image> 字幕？"], "<image>"),
    (["--prompt", "  "], "--prompt is empty"),
])
def test_bad_options(make_frame_set, tmp_path, capsys, flags, message):
    fs = make_frame_set(2)
    rc, _, err = _run(["--input", fs, "--out", tmp_path / "o", *flags], capsys)
    assert rc == 2 and message in err


def test_out_must_differ_from_input(make_frame_set, capsys):
    fs = make_frame_set(2)
    rc, _, err = _run(["--input", fs, "--out", fs], capsys)
    assert rc == 2 and "--out is the input folder" in err


def test_config_file_with_flags_on_top(make_frame_set, tmp_path, capsys):
    fs = make_frame_set(10)
    cfg = tmp_path / "ds.yaml"
    cfg.write_text(f"input: {fs}\nout: {tmp_path / 'o'}\ntrain_ratio: 0.5\nseed: 9\nformats: gold\n", encoding="utf-8")
    rc, _, _ = _run(["--config", cfg, "--train-ratio", "0.8"], capsys)
    assert rc == 0
    saved = json.loads((tmp_path / "o" / "dataset_config.json").read_text(encoding="utf-8"))
    assert saved["train_ratio"] == 0.8 and saved["seed"] == 9 and saved["formats"] == "gold"
    assert len((tmp_path / "o" / "splits" / "val.txt").read_text().split()) == 2
    cfg.write_text("input: x\nsplit: 0.5\n", encoding="utf-8")
    rc, _, err = _run(["--config", cfg], capsys)
    assert rc == 2 and "unknown option(s) split" in err


def test_same_seed_same_files(make_frame_set, tmp_path, capsys):
    fs = make_frame_set(10)
    for name in ("a", "b"):
        assert _run(["--input", fs, "--out", tmp_path / name, "--formats", "minicpmv,gold"], capsys)[0] == 0
    for rel in ("minicpmv/train.json", "minicpmv/val.json", "gold/val.csv", "splits/train.txt"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_bash_script_env_and_flags_from_another_cwd(make_tsv, tmp_path):
    data = "".join(f"image_{i}.jpg\t第{i}句。\n" for i in range(1, 5)).encode()
    tsv = make_tsv(data, [f"image_{i}.jpg" for i in range(1, 5)])
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = {**os.environ, "INPUT": str(tsv), "OUT": "rel_out", "FORMATS": "messages,gold", "TRAIN_RATIO": "0.5"}
    env.pop("PYTHONPATH", None)
    r = subprocess.run(["bash", str(SCRIPT), "--seed", "4"], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    out = cwd / "rel_out"  # relative paths are the caller's
    saved = json.loads((out / "dataset_config.json").read_text(encoding="utf-8"))
    assert saved["seed"] == 4 and saved["train_ratio"] == 0.5 and saved["formats"] == "messages,gold"
    assert check_file(out / "messages" / "train.jsonl") == [] and (out / "gold" / "val.csv").is_file()
    assert not (out / "minicpmv").exists()


def test_module_docstring_starts_with_the_command():
    from subtitle_vlm.data import dataset_cli

    assert dataset_cli.__doc__.startswith("subtitle-vlm dataset --input ")
    assert sys.modules["subtitle_vlm.data.dataset_cli"] is dataset_cli
