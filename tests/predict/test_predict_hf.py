"""subtitle-vlm predict --engine hf end to end: run directory in, CSV out; shards; data-parallel launch."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1] / "merge"))
from lora_run_fixture import make_run, scrambled_base  # noqa: E402

from subtitle_vlm.io import InputError, read_csv_predictions
from subtitle_vlm.predict import runner
from subtitle_vlm.predict.predict_cli import main
from subtitle_vlm.predict.predict_config import PredictConfig


@pytest.mark.slow
def test_predict_cli_with_run_dir_one_and_two_workers(tmp_path):
    run = make_run("qwen2_vl", tmp_path / "run", base=str(scrambled_base("qwen2_vl", tmp_path / "base")))
    folder = tmp_path / "frames"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(rng.integers(0, 255, (90, 160, 3), dtype=np.uint8)).save(folder / f"f_{i}.png")
    (folder / "f_9.jpg").write_bytes(b"not a jpeg")
    common = ["--engine", "hf", "--model", str(run), "--input", str(folder), "--batch-size", "2", "--no-progress",
              "--device", "cpu"]
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    summary = tmp_path / "summary.json"
    assert main(common + ["--out", str(one), "--summary-json", str(summary)]) == 0
    assert main(common + ["--out", str(two), "--workers", "2"]) == 0
    assert one.read_bytes() == two.read_bytes()
    rows = read_csv_predictions(one)
    assert list(rows) == ["f_0", "f_1", "f_2", "f_3", "f_4", "f_9"] and rows["f_9"] == ""
    assert len({rows[f"f_{i}"] for i in range(5)}) >= 3 and all(rows[f"f_{i}"] for i in range(5))
    s = json.loads(summary.read_text())
    assert s["frames"] == 6 and s["unreadable"] == 1 and s["unreadable_files"][0].endswith("f_9.jpg")
    saved = json.loads(Path(str(one) + ".config.json").read_text())
    assert saved["model"] == str(run) and saved["engine"] == "hf"


def test_data_parallel_gives_each_shard_one_gpu(tmp_path, monkeypatch):
    started = []

    class FakeProc:
        def __init__(self, args, env):
            started.append((args, env))

        def wait(self):
            return 0

    monkeypatch.setattr(runner.subprocess, "Popen", FakeProc)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5,7")
    cfg = PredictConfig(input=str(tmp_path), out=str(tmp_path / "p.csv"), model="m", data_parallel=2,
                        crop="bottom=0.3", max_memory="0=1GiB")
    runner._spawn_shards(cfg, 2, gpus=True)
    assert [env["CUDA_VISIBLE_DEVICES"] for _, env in started] == ["2", "5"]
    for i, (args, _) in enumerate(started):
        assert args[args.index("--shard") + 1] == f"{i}/2" and args[args.index("--device") + 1] == "cuda:0"
        assert args[args.index("--crop") + 1] == "bottom=0.3" and args[args.index("--model") + 1] == "m"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    with pytest.raises(InputError, match="needs 2 GPUs"):
        runner.visible_gpus(2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert runner.visible_gpus(3) == ["0", "1", "2"]
