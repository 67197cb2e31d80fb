"""Run outputs beside the frames (labels.tsv) and how worker processes start."""

from subtitle_vlm.io import read_jsonl
from subtitle_vlm.text import load_sentences


def test_labels_tsv_matches_metadata(small_cfg):
    from subtitle_vlm.synth import run_synth

    cfg = small_cfg(count=4)
    run_synth(cfg)
    out = __import__("pathlib").Path(cfg.out)
    meta = read_jsonl(out / "metadata.jsonl")
    lines = (out / "labels.tsv").read_text(encoding="utf-8").splitlines()
    assert [line.split("\t") for line in lines] == [[r["file_name"], r["text"]] for r in meta]
    spoken = [r["text"] for r in meta if r["text"]]
    assert [s for s in load_sentences(out / "labels.tsv") if s] == spoken


def test_workers_fork_unless_a_threaded_runtime_is_loaded(monkeypatch):
    import sys

    from subtitle_vlm.synth import runner

    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("torch", "onnxruntime", "tensorflow", "jax"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    assert runner._start_method() == "fork"
    monkeypatch.setitem(sys.modules, "torch", object())
    assert runner._start_method() == "spawn"
    monkeypatch.delitem(sys.modules, "torch")
    monkeypatch.setattr(sys, "platform", "darwin")
    assert runner._start_method() == "spawn"
