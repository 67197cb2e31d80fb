"""Labels for the learned selector, free from synthetic frame records.

A frame record names every text line drawn (``elements``: role, text, box; see synth/record.py). A
detection takes the role of the element that covers most of it; it is a subtitle line when that role is
``subtitle``. A detection covering no element (a false detection, a texture) is ``none``.
"""

from __future__ import annotations

from collections.abc import Sequence

ROLES = ("subtitle", "ticker", "tag", "logo", "title", "caption", "scene", "none")
# The share of a detection's area an element must cover for the detection to take its role: PP-OCR's
# boxes keep a margin around the ink, so even an exact detection is only partly covered by the ink box.
MIN_COVER = 0.3


def record_elements(rec: dict) -> list[dict]:
    """The drawn text lines of a record; records without ``elements`` give their subtitle's box."""
    try:
        from subtitle_vlm.synth.record import frame_elements
    except ImportError:  # a synthesiser without element records
        frame_elements = None
    if frame_elements is not None:
        return list(frame_elements(rec))
    if rec.get("elements") is not None:
        return list(rec["elements"])
    sub = rec.get("subtitle")
    if not sub:
        return []
    return [{"role": "subtitle", "text": rec.get("text", ""), "box": list(sub["bbox"]), "line": 0}]


def _inter(a, b) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def detection_roles(boxes: Sequence[Sequence[float]], elements: Sequence[dict]) -> list[str]:
    """The role of each detection box: that of the element covering the largest share of it (if at least
    ``MIN_COVER``), else ``none``."""
    out = []
    for b in boxes:
        area = max(1.0, (b[2] - b[0]) * (b[3] - b[1]))
        best, role = MIN_COVER, "none"
        for el in elements:
            cover = _inter(b, el["box"]) / area
            if cover > best:
                best, role = cover, el["role"]
        out.append(role)
    return out


__all__ = ["MIN_COVER", "ROLES", "detection_roles", "record_elements"]
