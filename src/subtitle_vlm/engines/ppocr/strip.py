"""The rows PP-OCR searches when only part of a frame matters, and how its detector is set so that strip is
scaled exactly as the whole frame would be.

rapidocr prepares an image in three steps before its detector (rapidocr 3.x, ``main.py`` and
``ch_ppocr_det/utils.py``): it shrinks one whose long side exceeds ``Global.max_side_len`` (2000); it adds
black rows above and below one wider than ``Global.width_height_ratio`` (8) times its height; then it
enlarges the image until its short side reaches ``Det.limit_side_len``, rounding both sides to multiples
of 32. A full-width strip handed over as it is would be padded, then enlarged by its own short side (its
height), so its text would be detected at another scale than in the whole frame. Here the strip is made
tall enough never to be padded, a height the 32-pixel grid takes without stretching, and the limit is
scaled with it.
"""

from __future__ import annotations

import math

MAX_SIDE = 2000   # rapidocr's Global.max_side_len
WIDE = 8          # rapidocr's Global.width_height_ratio
MIN_ROWS = 64     # below this the 32-pixel rounding would stretch the strip noticeably
GRID = 32


def det_scale(height: int, width: int, limit: int) -> float:
    """How much rapidocr scales a whole ``width`` x ``height`` frame before detection."""
    shrink = min(1.0, MAX_SIDE / max(height, width))
    short = min(height, width) * shrink
    return shrink * (limit / short if short < limit else 1.0)


def strip_rows(rows, height: int, width: int, limit: int) -> tuple[int, int] | None:
    """``rows`` (y0, y1) grown upwards (downwards at the frame's top) to at least ``MIN_ROWS`` and
    ``width / WIDE`` rows, and to a height the detector's grid takes whole; None when that is the whole
    frame, when ``rows`` hold no row of it, or when rapidocr would shrink the frame in a way a strip cannot
    follow (a portrait frame over ``MAX_SIDE`` is shrunk by its height, a strip by its width; a frame both
    shrunk and enlarged is rounded to the 32-pixel grid twice)."""
    y0, y1 = max(0, int(rows[0])), min(int(height), int(rows[1]))
    if y1 <= y0:
        return None
    shrink = min(1.0, MAX_SIDE / max(height, width))
    if shrink < 1.0 and (height > width or min(height, width) * shrink < limit):
        return None
    scale = det_scale(height, width, limit)
    least = max(y1 - y0, MIN_ROWS, width // WIDE + 1)
    cells = math.ceil(least * scale / GRID - 1e-9)  # the detector's rows, in 32-pixel cells
    while round(cells * GRID / scale) < least:
        cells += 1
    need = round(cells * GRID / scale)
    if need >= height:
        return None
    y0 = max(0, y1 - need)
    return y0, y0 + need


def strip_limit(strip_h: int, height: int, width: int, limit: int) -> int:
    """The ``Det.limit_side_len`` that makes rapidocr scale a full-width strip of ``strip_h`` rows (from
    ``strip_rows``) as it scales the whole frame."""
    shrink = min(1.0, MAX_SIDE / max(height, width))
    if min(height, width) * shrink >= limit:
        return GRID  # the frame is not enlarged, and a strip from strip_rows is never under this
    return max(GRID, round(limit * min(strip_h, width) / min(height, width)))


__all__ = ["det_scale", "strip_limit", "strip_rows"]
