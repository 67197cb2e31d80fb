"""Second look at the lines that may be the subtitle: cut scene text out of their boxes, find lost commas.

PP-OCR's detector draws one box around everything that touches on one baseline, so scene text beside the
subtitle (a sign behind its last characters, a Latin word after it, dark lettering on a poster before it)
is read into the subtitle's own line, and the line is then off-centre or carries foreign characters. The
subtitle's letters are known by their look - the fill colour next to a dark outline or shadow
(``colors.ink_mask``) - and by their place - centred on the frame. For each detection that could be
part of the subtitle this module

- cuts a box too tall to be one line (scene text above or below the subtitle read into it) to the rows
  of its subtitle-coloured letters (``vertical_trim``) and recognises that band again, before any other
  rule looks at it; and, after the others, a line that would stack with another into a two-line subtitle
  but for being too tall for it (``odd_partner``) is cut the same way to the partner's height;
- measures where the subtitle's letters are inside the box (the glyph columns of ``ink_clusters``);
- trims the box to them when it reaches well past them, and to the part centred on the frame's midline
  when the line is off-centre (a subtitle is centred; what hangs over on one side is scenery), and
  recognises the trimmed box again (``reread``, recognition only: no detection, only on these boxes);
- puts back a comma PP-OCR left out inside one box: a small mark of subtitle ink low between two glyphs,
  with the rest of its cell empty (``colors.comma_marks``), becomes a ，at the character boundary
  it falls on (read back by recognising the part left of the mark, else estimated from the character
  widths), unless the text already has a mark there;
- puts back a space PP-OCR left out between two phrases in one box (``spaces``);
- records where the letters start and end (``Detection.ink``), so the selection's punctuation search can
  look just after the last glyph even when the box reaches further.

Logic on the frame's pixels plus one callable (``reread``), so every rule is testable on drawn frames.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Callable, Sequence

import numpy as np

from subtitle_vlm.engines.ppocr.colors import comma_marks, ink_clusters, ink_mask, measure_box
from subtitle_vlm.engines.ppocr.rules import (PPOCRSelectConfig, Detection, Rect, group_rows,
                                               looks_like_subtitle_colors)
from subtitle_vlm.engines.ppocr.spaces import insert_spaces, space_positions
from subtitle_vlm.engines.ppocr.text import count_cjk, is_cjk

# reread(rect) -> (text, confidence) of that rectangle of the frame, or None when nothing was read.
Reread = Callable[[Rect], "tuple[str, float] | None"]

# Glyph columns: a run with less ink than this many squared line heights is a mark or noise, not a glyph.
GLYPH_INK = 0.03
MARK_INK = 0.005
# A box reaching this many line heights past the first / last glyph holds something else there.
TRIM_LEFT = 1.2
TRIM_RIGHT = 1.5
# Margins kept around the glyphs when trimming: the recogniser wants some background, and a final 。
# (smaller than a glyph) sits up to about half a line height after the last glyph.
KEEP_LEFT = 0.3
KEEP_RIGHT = 0.6
# A line whose centre is this many line heights off the midline is trimmed to its centred part.
OFF_CENTRE = 0.6
# Rows of a tall box holding this fraction of the densest row's letter ink belong to a line of letters;
# gaps up to ROW_GAP of the band's height inside one line are the gaps within glyphs.
BAND_INK = 0.25
ROW_GAP = 0.12
# The letters fill about 1/1.35 of a detection box: a band cut from a tall box is grown by this many of
# its own heights above and below, so the recogniser sees a box shaped like PP-OCR's own.
BAND_PAD = 0.2
_MARKS = set("，。、！？：；…,.!?:;」』）)")
# A line up to this many times as tall as the line it would stack with is cut to its letters' band.
PARTNER_RATIO = 2.2


def _char_width(ch: str) -> float:
    """Width in ems: full-width (CJK, full-width marks) 1, everything else about half."""
    return 1.0 if (is_cjk(ch) or ch in _MARKS and not ch.isascii()) else 0.55


def could_be_subtitle(det: Detection, width: int, height: int, cfg: PPOCRSelectConfig) -> bool:
    """Worth a second look: low, subtitle-sized, light fill, and reaching across the midline's neighbourhood."""
    if not cfg.region_top * height <= det.cy <= cfg.region_bottom * height:
        return False
    if not cfg.min_height * height <= det.height <= cfg.max_height * height:
        return False
    if det.colors is None or not looks_like_subtitle_colors(det.colors, cfg):
        return False
    # Letters, not a light plate or the sky behind dark letters.
    if det.colors.border_fraction > 0.3:
        return False
    reach = cfg.centre_tolerance * width + det.height
    return det.box[0] < width / 2 + reach and det.box[2] > width / 2 - reach


def glyph_runs(rgb: np.ndarray, det: Detection, need_edge: bool = True) -> list[tuple[float, float, int]]:
    """Column runs of the subtitle's fill colour inside ``det``'s box in frame coordinates: (x0, x1, ink
    pixels). With ``need_edge``, glyphs: fill pixels next to a dark edge (``ink_mask``) in runs with a
    glyph's ink. Without, where the subtitle could be: every pixel of the colour, in runs down to a thin
    mark's ink (a ？ or a 。), so trimming never cuts them."""
    if det.colors is None:
        return []
    mask = ink_mask(rgb, det.box, det.colors.fill_rgb, need_edge=need_edge)
    x0 = max(0, int(np.floor(det.box[0])))
    floor = GLYPH_INK if need_edge else MARK_INK
    return [(x0 + a, x0 + b, ink) for a, b, ink in ink_clusters(mask, det.height, min_ink=floor)]


def letter_band(mask: np.ndarray, min_rows: float, max_rows: float) -> tuple[int, int] | None:
    """The rows (top, bottom exclusive) of the line of letters with the most ink in ``mask``, or None.

    Rows holding at least ``BAND_INK`` of the densest row's ink form bands (small gaps bridged); the band
    with the most ink wins when its height is between ``min_rows`` and ``max_rows``."""
    if mask.size == 0:
        return None
    prof = mask.sum(axis=1).astype(np.float64)
    if prof.max() <= 0:
        return None
    on = prof >= BAND_INK * prof.max()
    bands: list[list[int]] = []
    gap = max(1, int(round(ROW_GAP * max_rows)))
    for y in np.flatnonzero(on):
        if bands and y - bands[-1][1] <= gap:
            bands[-1][1] = int(y) + 1
        else:
            bands.append([int(y), int(y) + 1])
    best = max(bands, key=lambda b: prof[b[0]:b[1]].sum())
    if not min_rows <= best[1] - best[0] <= max_rows:
        return None
    return best[0], best[1]


def band_trim(rgb: np.ndarray, det: Detection, min_rows: float, max_rows: float,
              cfg: PPOCRSelectConfig) -> Rect | None:
    """``det``'s box cut to the rows of its subtitle-coloured letters (fill beside a dark edge), when
    they form a band ``min_rows`` to ``max_rows`` high, grown to a detection box's margins; else None."""
    height = rgb.shape[0]
    if det.colors is None or not looks_like_subtitle_colors(det.colors, cfg):
        return None
    mask = ink_mask(rgb, det.box, det.colors.fill_rgb)
    y0 = max(0, int(np.floor(det.box[1])))
    band = letter_band(mask, min_rows, max_rows)
    if band is None:
        return None
    top, bottom = y0 + band[0], y0 + band[1]
    pad = BAND_PAD * (bottom - top)
    rect = (det.box[0], max(det.box[1], top - pad), det.box[2], min(det.box[3], bottom + pad))
    if not cfg.region_top * height <= (rect[1] + rect[3]) / 2 <= cfg.region_bottom * height:
        return None
    return rect


def vertical_trim(rgb: np.ndarray, det: Detection, cfg: PPOCRSelectConfig) -> Rect | None:
    """A detection too tall to be one subtitle line (scene text above or below the subtitle read into
    one box) cut to its band of subtitle letters (``band_trim``), or None when no such band stands out."""
    height = rgb.shape[0]
    if det.height <= cfg.max_height * height:
        return None
    # Letter rows of a subtitle-sized box: 1/1.35 of the box height range.
    return band_trim(rgb, det, cfg.min_height * height / 1.35, cfg.max_height * height / 1.35, cfg)


def odd_partner(a: Detection, b: Detection, cfg: PPOCRSelectConfig) -> Detection | None:
    """Of two lines one above the other that would stack into a two-line subtitle but for one box being
    too tall (scene text just above or below read into it), the tall one; else None."""
    upper, lower = (a, b) if a.cy <= b.cy else (b, a)
    short, tall = (a, b) if a.height <= b.height else (b, a)
    h = short.height
    if not cfg.line_height_ratio * h < tall.height <= PARTNER_RATIO * h:
        return None
    # The tall box's extra rows can lie between the lines: judge the gap from the short line's side.
    if not -0.6 * h <= lower.box[1] - upper.box[3] <= cfg.max_line_gap * h:
        return None
    overlap = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    if overlap < 0.5 * min(a.box[2] - a.box[0], b.box[2] - b.box[0]):
        return None
    return tall


def trim_span(box: Rect, runs: Sequence[tuple[float, float, int]], width: int,
              row_box: Rect | None = None) -> tuple[float, float] | None:
    """The part of ``box`` worth reading again, or None when the box is fine as it is.

    Trimmed to the glyphs when the box reaches well past them (``TRIM_LEFT`` / ``TRIM_RIGHT`` line
    heights), then to the part centred on the midline when the row (``row_box``, default the box) is off
    centre by more than ``OFF_CENTRE`` line heights and straddles the midline. Only a cut of at least half
    a line height counts."""
    h = box[3] - box[1]
    lo, hi = box[0], box[2]
    if runs:
        first, last = runs[0][0], runs[-1][1]
        if first - lo > TRIM_LEFT * h:
            lo = first - KEEP_LEFT * h
        if hi - last > TRIM_RIGHT * h:
            hi = last + KEEP_RIGHT * h
    rb = row_box or box
    r_lo = lo if rb[0] >= box[0] else rb[0]
    r_hi = hi if rb[2] <= box[2] else rb[2]
    mid = width / 2
    if r_lo < mid < r_hi and abs((r_lo + r_hi) / 2 - mid) > OFF_CENTRE * h:
        half = min(mid - r_lo, r_hi - mid) + KEEP_LEFT * h
        if half >= 1.5 * h:
            lo, hi = max(lo, mid - half), min(hi, mid + half)
    if (lo - box[0]) + (box[2] - hi) < 0.5 * h or hi - lo < h:
        return None
    return lo, hi


def comma_position(text: str, span: tuple[float, float], gap: tuple[float, float]) -> int | None:
    """Where in ``text`` a comma whose cell spans ``gap`` belongs, estimated from character widths.

    ``span`` is where the glyphs of ``text`` plus one missing full-width comma lie. The comma cell
    starts where the previous glyph ends; the boundary nearest to it in ems wins, when it is close (a
    quarter em) and between two Chinese characters."""
    widths = [_char_width(c) for c in text]
    total = sum(widths) + 1.0
    em = (span[1] - span[0]) / total
    if em <= 0:
        return None
    at = (gap[0] - span[0]) / em
    cum, best, best_d = 0.0, None, 1e9
    for k in range(1, len(text)):
        cum += widths[k - 1]
        if abs(cum - at) < best_d:
            best, best_d = k, abs(cum - at)
    if best is None or best_d > 0.25:
        return None
    if not (is_cjk(text[best - 1]) and is_cjk(text[best])):
        return None
    return best


def _near_mark(text: str, k: int) -> bool:
    return any(c in _MARKS or c.isspace() for c in text[max(0, k - 1):k + 1])


def restore_commas(det: Detection, runs: Sequence[tuple[float, float, int]],
                   commas: Sequence[tuple[float, float]], reread: Reread | None) -> str:
    """``det.text`` with the commas PP-OCR left out inside its box put back: ``commas`` are the frame
    columns (x0, x1) of marks seen between glyphs (``colors.comma_marks``), ``runs`` the glyphs."""
    text = det.text.strip()
    if not commas or not runs or not text:
        return text
    h = det.height
    y0, y1 = det.box[1], det.box[3]
    span = (runs[0][0], runs[-1][1])
    widths = [_char_width(c) for c in text]
    inserts: list[int] = []
    for c0, c1 in commas:
        # Already read: a mark where this one falls when the text holds all its cells.
        em = (span[1] - span[0]) / max(1e-6, sum(widths))
        at, cum, k_seen = (c0 - span[0]) / em, 0.0, 0
        for k, wd in enumerate(widths):
            if cum + wd / 2 > at:
                break
            cum += wd
            k_seen = k + 1
        if _near_mark(text, k_seen):
            continue
        k = None
        if reread is not None:
            got = reread((det.box[0], y0, c0, y1))
            left = got[0].strip() if got else ""
            if left and text.startswith(left) and 0 < len(left) < len(text):
                k = len(left)
        if k is None:
            k = comma_position(text, span, (c0 - 0.1 * h, c1))
        if k is not None and not _near_mark(text, k):
            inserts.append(k)
    for k in sorted(set(inserts), reverse=True):
        text = text[:k] + "，" + text[k:]
    return text


def _reread_as(rgb: np.ndarray, rect: Rect, reread: Reread, cfg: PPOCRSelectConfig,
               colors) -> Detection | None:
    got = reread(rect)
    if got and got[0].strip() and count_cjk(got[0]) and got[1] >= cfg.min_reread_score:
        return Detection(rect, got[0].strip(), float(got[1]), measure_box(rgb, rect) or colors)
    return None


def _look_again(det: Detection, rgb: np.ndarray, cfg: PPOCRSelectConfig, reread: Reread | None,
                row_box: Rect | None) -> Detection:
    """One line that may be the subtitle: trimmed sideways and re-read, commas and spaces restored,
    glyph extent recorded."""
    width = rgb.shape[1]
    if reread is not None:
        span = trim_span(det.box, glyph_runs(rgb, det, need_edge=False), width, row_box)
        if span is not None:
            det = _reread_as(rgb, (span[0], det.box[1], span[1], det.box[3]), reread, cfg, det.colors) or det
    runs = glyph_runs(rgb, det)
    text = det.text
    if (cfg.restore_marks or cfg.restore_spaces) and det.colors is not None:
        mask = ink_mask(rgb, det.box, det.colors.fill_rgb)
        if cfg.restore_marks:
            x0 = max(0, int(np.floor(det.box[0])))
            commas = [(x0 + a, x0 + b) for a, b in comma_marks(mask, det.height, GLYPH_INK)]
            text = restore_commas(det, runs, commas, reread)
        if cfg.restore_spaces:
            text = insert_spaces(text, space_positions(mask.any(axis=0), text))
    ink = (runs[0][0], runs[-1][1]) if runs else None
    return dataclasses.replace(det, text=text, ink=ink)


def refine_detections(dets: Sequence[Detection], rgb: np.ndarray, cfg: PPOCRSelectConfig,
                      reread: Reread | None) -> list[Detection]:
    """``dets`` after the second look: trimmed and re-read where scene text shares a subtitle's box,
    commas and spaces restored inside boxes, and glyph extents recorded (``Detection.ink``)."""
    height, width = rgb.shape[:2]
    out = list(dets)
    rows = group_rows([d for d in dets if d.text.strip()], cfg)
    row_of = {id(p): r for r in rows for p in r.parts}
    looked: list[int] = []
    for i, det in enumerate(out):
        if not det.text.strip():
            continue
        row = row_of.get(id(det))
        if reread is not None:
            rect = vertical_trim(rgb, det, cfg)
            new = _reread_as(rgb, rect, reread, cfg, det.colors) if rect is not None else None
            if new is not None:
                det = out[i] = new
        if not could_be_subtitle(det, width, height, cfg):
            continue
        out[i] = _look_again(det, rgb, cfg, reread, row.box if row is not None else None)
        looked.append(i)
    if reread is None:
        return out
    # Two lines that would stack but for one box being too tall: cut that one to its letters and look again.
    for i, j in itertools.combinations(looked, 2):
        tall = odd_partner(out[i], out[j], cfg)
        if tall is None:
            continue
        k, short = (i, out[j]) if tall is out[i] else (j, out[i])
        rows_hint = short.height / 1.35
        rect = band_trim(rgb, tall, 0.75 * rows_hint, 1.3 * rows_hint, cfg)
        new = _reread_as(rgb, rect, reread, cfg, tall.colors) if rect is not None else None
        if new is not None:
            out[k] = _look_again(new, rgb, cfg, reread, None)
    return out


__all__ = ["Reread", "band_trim", "comma_position", "could_be_subtitle", "glyph_runs", "letter_band", "odd_partner",
           "refine_detections", "restore_commas", "trim_span", "vertical_trim"]
