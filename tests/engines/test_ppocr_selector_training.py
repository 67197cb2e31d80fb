"""Training a selector on a tiny synthesised frame set, the command's bad input, and the shipped model."""

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("rapidocr")
pytest.importorskip("onnxruntime")
pytest.importorskip("sklearn")

from subtitle_vlm.engines.ppocr.selector.model import DEFAULT_MODEL, DEFAULT_SHA256, load_selector  # noqa: E402
from subtitle_vlm.io import file_sha256  # noqa: E402


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    from subtitle_vlm.synth import SynthConfig, run_synth

    out = tmp_path_factory.mktemp("sel") / "frames"
    run_synth(SynthConfig(out=str(out), count=10, seed=7, style="hard", size="640x360", p_empty=0.0,
                          progress=False))
    return out


@pytest.mark.slow
def test_train_selector_writes_a_model_that_loads_and_scores(tiny_set, tmp_path, monkeypatch):
    from subtitle_vlm.cli import main
    from subtitle_vlm.engines.ppocr.selector import detections
    from subtitle_vlm.engines.ppocr.selector.features import FEATURES

    out, cache = tmp_path / "run", tmp_path / "cache"
    args = ["train-selector", "--frames", str(tiny_set), "--out", str(out), "--cache", str(cache),
            "--n-estimators", "20", "--val-fraction", "0", "--no-progress"]
    assert main(args) == 0
    model = load_selector(out)
    assert model.kind == "gbdt" and model.recipe["train_frames"] == 10 and model.recipe["subtitle_lines"] > 0
    assert model.recipe["command"].startswith("subtitle-vlm train-selector --frames")
    p = model.predict_proba(np.random.default_rng(0).normal(size=(30, len(FEATURES))))
    assert ((p >= 0) & (p <= 1)).all()
    summary = json.loads((out / "training_summary.json").read_text(encoding="utf-8"))
    assert summary["train_lines"] >= summary["subtitle_lines"] > 0
    assert (out / "train_selector_config.json").is_file()
    # Training again reuses the cached detections: the detector never runs.
    monkeypatch.setattr(detections, "_detect_one", lambda job: pytest.fail("detector ran again"))
    assert main(args[:-1] + ["--model", "logistic", "--no-progress"]) == 0
    assert load_selector(out).kind == "logistic"


def test_train_selector_bad_input_is_named(tmp_path, capsys):
    from subtitle_vlm.cli import main

    assert main(["train-selector", "--frames", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "missing: frame set folder does not exist" in capsys.readouterr().err
    (tmp_path / "plain").mkdir()
    assert main(["train-selector", "--frames", str(tmp_path / "plain"), "--out", str(tmp_path / "o"),
                 "--cache", str(tmp_path / "c")]) == 2
    assert "no metadata.jsonl" in capsys.readouterr().err
    assert main(["train-selector", "--frames", str(tmp_path / "plain"), "--out", str(tmp_path / "o"),
                 "--threshold", "1.5"]) == 2
    assert "--threshold" in capsys.readouterr().err
    assert not (tmp_path / "o" / "selector.json").exists()


def test_the_shipped_model_is_the_recorded_one_and_loads_without_training_extras():
    assert file_sha256(DEFAULT_MODEL) == DEFAULT_SHA256, (
        "default_selector.json changed: rebuild it with the command in its recipe and record its sha256 "
        "in selector/model.py and docs/selector.md")
    recipe = load_selector("default").recipe
    assert recipe["command"].startswith("subtitle-vlm train-selector") and "seed" in recipe["config"]
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "from subtitle_vlm.engines.ppocr.selector import get_selector\n"
            "import numpy as np\n"
            "from subtitle_vlm.engines.ppocr.selector.features import FEATURES\n"
            "p = get_selector('default').model.predict_proba(np.zeros((2, len(FEATURES))))\n"
            "assert p.shape == (2,) and ((p >= 0) & (p <= 1)).all()\n"
            "print('ok')")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr
