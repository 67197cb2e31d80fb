"""Every text line a frame shows, with its role and ink box: what a subtitle selector learns from.

``rec["elements"]`` (records since version 3) holds one entry per drawn text line:

    {"role": "subtitle" | "ticker" | "tag" | "logo" | "title" | "caption" | "scene",
     "text": the characters visible on that line (a clipped ticker: only the visible part),
     "box": [x0, y0, x1, y1] ink box in frame pixels (ints, clipped to the frame; outline included,
            shadows, plates and bands not),
     "font": the font's name, "line": index of the line within its element (0-based)}

subtitle lines first, in reading order, then ticker, tags, logo, title, caption and scene text.
``rec["layout"]`` says which components the frame has and how its subtitle looks.

``frame_elements(rec)`` returns the list; for a record written before elements existed it builds them
from the record's own fields (subtitle ``line_xy`` and font, distractors, scene text), so older frame sets
still give line labels. When the record's font file is not on this machine, the subtitle's lines get equal
slices of the subtitle's box instead of measured ones.
"""

from __future__ import annotations

from subtitle_vlm.synth.distractors import distractor_elements
from subtitle_vlm.synth.fonts import font_for_record, font_group
from subtitle_vlm.synth.layout import ink_bbox
from subtitle_vlm.synth.scene_text import scene_elements
from subtitle_vlm.synth.tags import tag_elements
from subtitle_vlm.synth.ticker import ticker_elements

ROLES = ("subtitle", "ticker", "tag", "logo", "title", "caption", "scene")


def _clip(box, W: int, H: int) -> list[int] | None:
    x0, y0, x1, y1 = max(0, int(box[0])), max(0, int(box[1])), min(W, int(box[2])), min(H, int(box[3]))
    return [x0, y0, x1, y1] if x1 > x0 and y1 > y0 else None


def subtitle_elements(sub: dict, W: int, H: int) -> list[dict]:
    lines, xy = sub["lines"], sub["line_xy"]
    name = (sub.get("font") or {}).get("name", "")
    try:
        font = font_for_record(sub["font"], sub["font_size"])
    except OSError:  # the font file is gone: slice the subtitle's box by line
        x0, y0, x1, y1 = sub["bbox"]
        step = (y1 - y0) / max(1, len(lines))
        boxes = [(x0, y0 + i * step, x1, y0 + (i + 1) * step) for i in range(len(lines))]
    else:
        spacing, stroke = int(sub.get("letter_spacing", 0)), int(sub.get("stroke_width", 0))
        boxes = [ink_bbox(font, tuple(p), t, spacing, stroke) for t, p in zip(lines, xy)]
    out = []
    for i, (text, box) in enumerate(zip(lines, boxes)):
        box = _clip(box, W, H) if box else None
        if box:
            out.append({"role": "subtitle", "text": text.strip(), "box": box, "font": name, "line": i})
    return out


def build_elements(rec: dict) -> list[dict]:
    """The elements of ``rec`` computed from its fields (what ``sample_record`` stores)."""
    W, H = (int(v) for v in rec["size"])
    out: list[dict] = []
    if rec.get("subtitle"):
        out += subtitle_elements(rec["subtitle"], W, H)
    if rec.get("ticker"):
        out += ticker_elements(rec["ticker"], W, H)
    for t in rec.get("tags") or ():
        out += tag_elements(t, W, H)
    ds = rec.get("distractors") or ()
    for kind in ("logo", "title", "caption"):
        for d in ds:
            if d.get("kind") == kind:
                out += distractor_elements(d, W, H)
    for item in rec.get("scene_text") or ():
        out += scene_elements(item, W, H)
    return out


def frame_elements(rec: dict) -> list[dict]:
    """The record's elements; built from its fields for records older than elements."""
    if "elements" in rec:
        return rec["elements"]
    return build_elements(rec)


def frame_layout(rec: dict) -> dict:
    """Which components the frame shows, and its subtitle's style, convention and font group."""
    sub = rec.get("subtitle")
    kinds = {d.get("kind") for d in rec.get("distractors") or ()}
    return {"ticker": bool(rec.get("ticker")), "tag": bool(rec.get("tags")), "logo": "logo" in kinds,
            "title": "title" in kinds, "caption": "caption" in kinds, "scene": bool(rec.get("scene_text")),
            "bar": bool(sub and sub.get("box")),
            "subtitle_style": sub.get("style") if sub else None,
            "convention": rec.get("convention") if sub else None,
            "font_group": (sub["font"].get("group") or font_group(sub["font"])) if sub else None}
