"""Legibility: PP-OCR (rapidocr, models inside the wheel) reads clean-style frames back.

This proves the glyphs are real text in a real CJK font (not missing-glyph boxes) and that the original
rendering - near-white text, 1 px outline on bright backgrounds - is readable over the built-in
backgrounds. Spaces and punctuation width are not glyph questions, so both sides are compared after the
``punct`` normalisation with spaces removed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from subtitle_vlm.io import read_jsonl
from subtitle_vlm.text.metrics import cer
from subtitle_vlm.synth import SynthConfig, run_synth, subtitle_bbox
from subtitle_vlm.text.normalize import normalize

pytest.importorskip("rapidocr")


def _norm(s: str) -> str:
    return normalize(s, "punct").replace(" ", "")


@pytest.mark.slow
def test_ppocr_reads_clean_frames(tmp_path):
    from PIL import Image
    from rapidocr import RapidOCR

    cfg = SynthConfig(out=str(tmp_path / "clean"), count=6, seed=11, style="clean", progress=False)
    run_synth(cfg)
    ocr = RapidOCR(params={"Global.log_level": "critical"})
    refs, hyps = [], []
    for rec in read_jsonl(Path(cfg.out) / "metadata.jsonl"):
        x0, y0, x1, y1 = subtitle_bbox(rec)
        with Image.open(Path(cfg.out) / rec["file_name"]) as im:
            result = ocr(im.convert("RGB"))
        found = []
        for box, text in zip(result.boxes if result.boxes is not None else [], result.txts or ()):
            cx = sum(p[0] for p in box) / 4
            cy = sum(p[1] for p in box) / 4
            if x0 - 20 <= cx <= x1 + 20 and y0 - 20 <= cy <= y1 + 20:  # readings on the subtitle only
                found.append((cy, cx, text))
        refs.append(_norm(rec["text"]))
        hyps.append(_norm("".join(t for _, _, t in sorted(found))))
    score = cer(refs, hyps)
    print(f"clean-style CER {score:.4f} over {len(refs)} frames", list(zip(refs, hyps)))
    assert score <= 0.05, list(zip(refs, hyps))
