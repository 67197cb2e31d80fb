"""A final mark the detector's box left out, put back only when the recogniser reads it.

PP-OCR's detector often draws the last line's box tight to the last character, so a small 。！？ just after
it is cut off and never read. The line's box, extended to the right by ``EXTEND`` line heights, is read
again (recognition only); the mark is kept only when that reading is exactly the first one plus one mark.
The evidence is the recogniser's own reading of ink on screen, so no mark appears where none is drawn, in
any font the recogniser reads.
"""

from __future__ import annotations

import numpy as np

from subtitle_vlm.engines.ppocr.detection import Selection

# A full-width mark is about one character wide; half again covers the letter spacing some subtitles use.
EXTEND = 1.2
END_MARKS = set("。！？.!?")
# After a Chinese character our subtitles write the full-width forms (as text.tidy_text does).
FULLWIDTH_END = {".": "。", "!": "！", "?": "？"}
_ANY_MARK = set("，。、！？：；…,.!?:;」』）)")


def read_rect(ocr_engine, rgb: np.ndarray, rect) -> str | None:
    """Recognition only (no detection) of one rectangle of an RGB frame; None when it is too small."""
    h, w = rgb.shape[:2]
    x0, y0 = max(0, int(rect[0])), max(0, int(rect[1]))
    x1, y1 = min(w, int(np.ceil(rect[2]))), min(h, int(np.ceil(rect[3])))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1, ::-1])  # rapidocr takes arrays as BGR
    out = ocr_engine(crop, use_det=False, use_cls=False, use_rec=True)
    txts = getattr(out, "txts", None)
    return str(txts[0]) if txts else None


def end_mark(sel: Selection, rgb: np.ndarray, read) -> str:
    """The mark to append to ``sel.text`` ("" for none). ``read(rect) -> text | None`` recognises a box."""
    if not sel.text or not sel.lines or sel.text[-1] in _ANY_MARK:
        return ""
    last = max(sel.lines[-1].parts, key=lambda p: p.box[2])
    first = last.text.strip()
    if not first or first[-1] in _ANY_MARK:
        return ""
    x0, y0, x1, y1 = last.box
    again = read((x0, y0, x1 + EXTEND * (y1 - y0), y1))
    if again is None:
        return ""
    again = again.strip()
    if len(again) == len(first) + 1 and again.startswith(first) and again[-1] in END_MARKS:
        return again[-1]
    return ""


__all__ = ["END_MARKS", "EXTEND", "FULLWIDTH_END", "end_mark", "read_rect"]
