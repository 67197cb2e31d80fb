"""Stray text: lines of random look in random places, so a subtitle selector learns what a subtitle *is*
rather than the list of other things this synthesiser draws (logo, title, caption, tag, ticker, sign).

Every attribute is drawn on its own: text (a corpus snippet, Latin letters and digits, or a mix), size,
fill, outline, opacity, a plate behind it (sometimes as wide as the frame), and the place, anywhere in the
upper half of the frame. The lower half is left to the subtitle and the layouts drawn on purpose: there an
off-centre line of random look is too often what a real subtitle's piece looks like (a Taiwan-style phrase
the detector boxed alone, a speaker's line), and teaching the selector to turn such lines down cost it
subtitles in a development run (docs/selector.md). A stray line also keeps one subtitle line's height clear
of the subtitle's rows, however far to the side, or, in a frame without a subtitle, of the bottom-centre
band where one would be.

Items use the distractor record format (``distractors.py``; kind ``"stray"``) and its drawing, under the
record key ``stray_text``; their elements have role ``"stray"``. Off unless ``--p-stray`` is given.
"""

from __future__ import annotations

import numpy as np

from subtitle_vlm.synth.distractors import PALETTE, snippet, font_for_text
from subtitle_vlm.synth.layout import Box, block_bbox, intersects, text_width

STREAM = 17  # np.random.default_rng([frame seed, STREAM])
MAX_ITEMS = 3
CANDIDATES = 8  # places drawn per item up front; the first clear one is used
LOWEST = 0.5  # of the height: no stray line reaches below this
LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"


def _latin(rng, lo: int, hi: int) -> str:
    n = int(rng.integers(lo, hi + 1))
    pool = LATIN + DIGITS + " -.:/%"
    return "".join(pool[int(i)] for i in rng.integers(len(pool), size=n)).strip() or "A1"


def _text(rng, assets) -> str:
    kind = rng.random()
    if kind < 0.55:
        return snippet(rng, assets, 2, 16)
    if kind < 0.8:
        return _latin(rng, 2, 14)
    return snippet(rng, assets, 2, 8) + _latin(rng, 1, 5).replace(" ", "")


def _colour(rng) -> list[int]:
    if rng.random() < 0.3:  # white or near-white, as subtitles often are
        v = int(rng.integers(225, 256))
        return [v, v, v]
    return [int(v) for v in PALETTE[int(rng.integers(len(PALETTE)))]]


def _make(rng, assets, W: int, H: int, subtitle: Box, line_h: int, avoid: list[Box], rows_only: bool) -> dict | None:
    """One stray line ``line_h`` clear of ``subtitle`` (of its rows with ``rows_only``) and clear of
    ``avoid``; every random number is drawn before anything is placed."""
    scale = H / 720
    text = _text(rng, assets)
    size = max(8, int(rng.integers(int(16 * scale), int(72 * scale) + 1)))
    fill = _colour(rng)
    stroke = int(rng.integers(0, max(1, int(4 * scale)) + 1)) if rng.random() < 0.5 else 0
    stroke_fill = [0, 0, 0] if rng.random() < 0.7 else _colour(rng)
    opacity = float(round(rng.uniform(0.6, 1.0), 3)) if rng.random() < 0.3 else 1.0
    plate = rng.random()
    plate_colour = [int(v) for v in rng.integers(0, 256, 3)]
    plate_alpha = float(round(rng.uniform(0.4, 0.95), 3))
    cands = rng.random((CANDIDATES, 2))
    chosen = font_for_text(np.random.default_rng(rng.integers(1 << 62)), assets, text, size)
    if chosen is None:
        return None
    font_ref, font = chosen
    tw = text_width(font, text)
    if tw >= W:
        return None
    pad = int(round(size * 0.3))
    for u, v in cands:
        x = u * (W - tw)
        y = 0.01 * H + v * (LOWEST - 0.01) * H - size
        xy = [int(round(x)), int(round(y))]
        bbox = block_bbox(font, [text], [xy], 0, stroke)
        if bbox is None or bbox[0] < 0 or bbox[1] < 0 or bbox[2] > W or bbox[3] > H:
            continue
        if bbox[3] > LOWEST * H:
            continue
        box = None
        extent = tuple(bbox)
        if plate >= 0.55:  # a plate behind the line; the widest ones span the frame, as a band does
            x0, x1 = (0, W) if plate >= 0.85 else (bbox[0] - pad, bbox[2] + pad)
            rect = [max(0, x0), max(0, bbox[1] - pad), min(W, x1), min(H, bbox[3] + pad)]
            box = {"rect": rect, "color": plate_colour, "alpha": plate_alpha}
            extent = tuple(rect)
        near = (extent[1] < subtitle[3] + line_h and extent[3] > subtitle[1] - line_h) if rows_only else \
            intersects(extent, subtitle, line_h)
        if near or any(intersects(extent, a, int(8 * scale)) for a in avoid):
            continue
        return {"kind": "stray", "text": text, "font": font_ref, "font_size": size, "fill": fill,
                "opacity": opacity, "stroke_width": stroke, "stroke_fill": stroke_fill,
                "lines": [text], "line_xy": [xy], "box": box, "bbox": list(bbox)}
    return None


def sample_stray_text(rng, assets, params, W: int, H: int, subtitle: Box | None, line_h: int,
                      avoid: list[Box]) -> list[dict]:
    """With probability ``params.p_stray``, 1 to MAX_ITEMS stray lines, clear of the subtitle (or its band
    when there is none, ``subtitle`` None) by ``line_h`` and of ``avoid`` (what is drawn already)."""
    if not rng.random() < params.p_stray:
        return []
    n = int(rng.integers(1, MAX_ITEMS + 1))
    item_rngs = [np.random.default_rng(rng.integers(1 << 62)) for _ in range(n)]
    rows_only = subtitle is not None
    if subtitle is None:
        subtitle = (int(0.1 * W), int(0.55 * H), int(0.9 * W), H)
    avoid, out = list(avoid), []
    for r in item_rngs:
        item = _make(r, assets, W, H, tuple(subtitle), line_h, avoid, rows_only)
        if item is not None:
            out.append(item)
            avoid.append(tuple(item["box"]["rect"]) if item["box"] else tuple(item["bbox"]))
    return out


__all__ = ["STREAM", "sample_stray_text"]
