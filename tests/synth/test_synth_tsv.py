"""The original pipeline's label file is written beside metadata.jsonl and reads back as a sentence source."""

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
