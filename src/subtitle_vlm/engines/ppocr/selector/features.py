"""Features of every text line PP-OCR detected in a frame, for the learned subtitle selector.

One row per detection, numbers only, so any model family can use them. They describe the line itself
(place and size relative to the frame, what its text is made of, how sure the recogniser was), its colours
(``colors.measure_box``: a light fill with a dark edge, or lettering on a plate), the strip of the frame it
sits in (a ticker's band is one flat colour from edge to edge; a scene is not) and its neighbours (a line of
the same height just above or below, a wide band under it, the same text elsewhere in the frame).

Nothing here is a threshold: what matters, and how much, is learned from synthetic frame records.
numpy only, so the shipped model runs without the training extras.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from subtitle_vlm.engines.ppocr.text import is_cjk

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_PUNCT = set("，。、！？：；…「」『』（）,.!?:;()·-—~～")

FEATURES: tuple[str, ...] = (
    # geometry, in frame widths / heights
    "cx", "cy", "w", "h", "x0", "x1", "y0", "y1", "off_centre", "centre_balance", "touches_left",
    "touches_right", "bottom_gap", "aspect_per_char",
    # text
    "n_chars", "cjk_frac", "latin_frac", "digit_frac", "punct_frac", "space_frac", "unique_frac",
    "rec_score",
    # colours
    "has_colors", "fill_luma", "fill_sat", "edge_luma", "contrast", "fill_frac", "border_frac", "yellowish",
    "fill_r", "fill_g", "fill_b",
    # the frame strip the line sits in
    "band_flat", "band_luma", "band_sat", "strip_above_diff", "strip_below_diff",
    # neighbours
    "rel_height", "n_same_row", "row_span", "partner_above", "partner_below",
    "gap_below", "gap_above", "wide_below", "wide_above", "same_text_elsewhere", "taller_centred_below",
    "lines_like_it",
)


def _frac(text: str, pred) -> float:
    return sum(1 for c in text if pred(c)) / max(1, len(text))


def text_features(text: str) -> list[float]:
    t = text.strip()
    n = len(t)
    return [
        float(n),
        _frac(t, is_cjk),
        _frac(t, lambda c: c.isascii() and c.isalpha()),
        _frac(t, lambda c: c.isdigit()),
        _frac(t, lambda c: c in _PUNCT),
        _frac(t, str.isspace),
        len(set(t)) / max(1, n),
    ]


def strip_stats(rgb: np.ndarray, box) -> list[float]:
    """How the full-width strip of the frame at this line's rows looks: ``band_flat`` is the share of the
    width whose column colour is within a small distance of the strip's median colour (a ticker band or
    a bar: near 1; a scene: low); then the strip's median luma and saturation, and how different the
    strips just above and just below are from it (a band has an edge)."""
    h, w = rgb.shape[:2]
    y0, y1 = max(0, int(box[1])), min(h, int(np.ceil(box[3])))
    if y1 - y0 < 2:
        return [0.0, 0.0, 0.0, 0.0, 0.0]
    step = max(1, w // 160)  # 160 columns are plenty to tell a flat band from a scene, and cheap
    strip = rgb[y0:y1, ::step, :3].astype(np.float32)
    cols = np.median(strip, axis=0)  # one colour per column: letters are a minority of each column
    med = np.median(cols, axis=0)
    flat = float((np.abs(cols - med).max(axis=1) <= 24).mean())
    mx, mn = float(med.max()), float(med.min())
    bh = max(2, (y1 - y0) // 2)

    def diff(a0: int, a1: int) -> float:
        a0, a1 = max(0, a0), min(h, a1)
        if a1 - a0 < 1:
            return 0.0
        other = np.median(rgb[a0:a1, ::step, :3].astype(np.float32), axis=0)
        return float(np.abs(other - cols).mean()) / 255.0

    return [flat, float(med @ _LUMA) / 255.0, (mx - mn) / mx if mx > 0 else 0.0,
            diff(y0 - bh, y0), diff(y1, y1 + bh)]


def colour_features(c) -> list[float]:
    if c is None:
        return [0.0] * 11
    r, g, b = c.fill_rgb
    return [1.0, c.fill_luma / 255.0, c.fill_saturation, c.edge_luma / 255.0, c.contrast / 255.0,
            c.fill_fraction, c.border_fraction, float(c.is_yellowish), r / 255.0, g / 255.0, b / 255.0]


def _overlap_x(a, b) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0]))


def context_features(i: int, boxes: np.ndarray, texts: Sequence[str], W: int, H: int) -> list[float]:
    b = boxes[i]
    hi = max(1.0, b[3] - b[1])
    heights = np.maximum(1.0, boxes[:, 3] - boxes[:, 1])
    cys = (boxes[:, 1] + boxes[:, 3]) / 2
    cy = cys[i]
    n = len(boxes)
    others = [j for j in range(n) if j != i]
    same_row = [j for j in others if abs(cys[j] - cy) <= 0.35 * min(hi, heights[j])
                and 0.67 <= heights[j] / hi <= 1.5]
    row_x0 = min([b[0]] + [boxes[j][0] for j in same_row])
    row_x1 = max([b[2]] + [boxes[j][2] for j in same_row])

    def partner(sign: int) -> tuple[float, float]:
        """(is there a line of about this height, overlapping in x, just above/below; its gap in heights)"""
        best = 9.0
        found = 0.0
        for j in others:
            gap = (boxes[j][1] - b[3]) if sign > 0 else (b[1] - boxes[j][3])
            if -0.3 * hi <= gap <= 3 * hi and _overlap_x(b, boxes[j]) > 0:
                best = min(best, gap / hi)
                if 0.7 <= heights[j] / hi <= 1.4 and gap <= 1.0 * hi:
                    found = 1.0
        return found, best

    p_below, g_below = partner(+1)
    p_above, g_above = partner(-1)
    wide_below = float(any(boxes[j][1] >= b[3] - 0.2 * hi and (boxes[j][2] - boxes[j][0]) >= 0.45 * W
                           for j in others))
    wide_above = float(any(boxes[j][3] <= b[1] + 0.2 * hi and (boxes[j][2] - boxes[j][0]) >= 0.45 * W
                           for j in others))
    t = texts[i].strip()
    same_text = float(len(t) >= 2 and any(t in texts[j] or texts[j].strip() in t for j in others
                                          if len(texts[j].strip()) >= 2))
    # A centred line as tall or taller lower in the frame: the lower one is the likelier subtitle.
    taller_below = float(any(cys[j] > cy + 0.5 * hi and heights[j] >= 0.8 * hi
                             and abs((boxes[j][0] + boxes[j][2]) / 2 - W / 2) <= 0.1 * W for j in others))
    lines_like = sum(1 for j in others if 0.8 <= heights[j] / hi <= 1.25
                     and (abs(boxes[j][0] - b[0]) <= 0.5 * hi or abs(boxes[j][2] - b[2]) <= 0.5 * hi)
                     and abs(cys[j] - cy) <= 4 * hi)
    # Counts over the whole frame (how many lines, how many below) are left out on purpose: they change
    # with every element a layout adds, so a model leaning on them fails on layouts it has not seen.
    return [
        hi / float(np.median(heights)),
        float(len(same_row)),
        (row_x1 - row_x0) / W,
        p_above, p_below, g_below, g_above, wide_below, wide_above, same_text, taller_below, float(lines_like),
    ]


def frame_features(dets: Sequence, width: int, height: int, strips: Sequence[Sequence[float]] | None = None
                   ) -> np.ndarray:
    """The feature matrix (len(dets) x len(FEATURES)) of one frame's detections. ``strips`` holds
    ``strip_stats`` per detection (zeros when the frame is not at hand)."""
    W, H = float(width), float(height)
    if not dets:
        return np.zeros((0, len(FEATURES)), dtype=np.float32)
    boxes = np.array([d.box for d in dets], dtype=np.float64)
    texts = [d.text for d in dets]
    rows = []
    for i, d in enumerate(dets):
        x0, y0, x1, y1 = d.box
        w, h = max(1.0, x1 - x0), max(1.0, y1 - y0)
        n = max(1, len(d.text.strip()))
        geo = [(x0 + x1) / 2 / W, (y0 + y1) / 2 / H, w / W, h / H, x0 / W, x1 / W, y0 / H, y1 / H,
               abs((x0 + x1) / 2 - W / 2) / W, (x0 - (W - x1)) / W, float(x0 <= 0.01 * W),
               float(x1 >= 0.99 * W), (H - y1) / h, w / h / n]
        strip = list(strips[i]) if strips is not None else [0.0] * 5
        rows.append(geo + text_features(d.text) + [float(d.score)] + colour_features(d.colors) + strip
                    + context_features(i, boxes, texts, width, height))
    out = np.asarray(rows, dtype=np.float32)
    assert out.shape[1] == len(FEATURES), (out.shape, len(FEATURES))
    return out


__all__ = ["FEATURES", "colour_features", "context_features", "frame_features", "strip_stats", "text_features"]
