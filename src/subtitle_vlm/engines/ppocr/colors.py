"""Colour measurements inside a detected text box: is this light text with a dark edge, like a subtitle?

Burned-in subtitles are a light fill (near white, sometimes yellow) wrapped in a dark outline or shadow, so
that they read on any background. Scene text (signs, shirts, posters) and most captions are not: dark
letters on light plates, coloured letters, or light letters with no dark edge on a light background.

For one box the measurement takes the pixels of a subtitle fill colour (white or yellow), checks they
keep off the box's border band (PP-OCR's boxes leave a margin of background around the letters), and
looks at the 2-pixel ring just outside them: for a subtitle that ring is the outline, the shadow or a dark
background, and it is dark. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ITU-R BT.601 luma weights; close enough to what a viewer calls "bright".
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class BoxColors:
    """What the pixels inside one text box look like.

    fill_rgb: median colour of the brightest letter pixels; fill_luma its luma (0-255).
    fill_saturation: (max - min) / max of fill_rgb: 0 for grey/white, ~1 for pure colours.
    edge_luma: median luma of the ring just outside the bright pixels (the outline when there is one).
    fill_fraction: share of the box's pixels in the fill colour (subtitle letters: ~0.1-0.4).
    border_fraction: share of the box's border band in the fill colour: letters keep off the border,
        a light background (a sign's plate, the sky) covers it.
    """

    fill_rgb: tuple[int, int, int]
    fill_luma: float
    fill_saturation: float
    edge_luma: float
    fill_fraction: float
    border_fraction: float = 0.0

    @property
    def contrast(self) -> float:
        return self.fill_luma - self.edge_luma

    @property
    def is_yellowish(self) -> bool:
        r, g, b = self.fill_rgb
        return r >= 150 and g >= 150 and b < 0.75 * min(r, g)

    def as_dict(self) -> dict:
        return {"fill_rgb": list(self.fill_rgb), "fill_luma": round(self.fill_luma, 1),
                "fill_saturation": round(self.fill_saturation, 3), "edge_luma": round(self.edge_luma, 1),
                "fill_fraction": round(self.fill_fraction, 3), "border_fraction": round(self.border_fraction, 3)}


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation by a (2r+1)^2 square, by shifting (tiny boxes; no scipy/OpenCV needed)."""
    h, w = mask.shape
    padded = np.pad(mask, radius)
    out = np.zeros_like(mask)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            out |= padded[dy:dy + h, dx:dx + w]
    return out


def _light_masks(rgb: np.ndarray, luma: np.ndarray) -> dict[str, np.ndarray]:
    """Pixels of the two subtitle fills: white (grey to white, relative to the box's brightest: thin
    letters blurred by a resolution round trip come out light grey) and yellow."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    mx, mn = rgb.max(axis=2), rgb.min(axis=2)
    top = float(np.percentile(luma, 99))
    white = (mn >= max(140.0, 0.8 * top)) & (mx - mn <= 45)
    yellow = (r >= 150) & (g >= 130) & (b <= 0.6 * g) & (np.abs(r - g) <= 70)
    return {"white": white, "yellow": yellow}


# A fill whose ring is less than LOW_CONTRAST luma darker than itself is lettering drawn on a plate or a
# sign, not an outlined subtitle, when another fill in the box has a ring OUTLINED darker than itself.
LOW_CONTRAST = 60.0
OUTLINED = 90.0


def measure_box(image: np.ndarray, box: tuple[float, float, float, float], ring: int = 2) -> BoxColors | None:
    """Measure ``box`` (x0, y0, x1, y1 in pixels) of an RGB uint8 array; None when the box is degenerate.

    For each subtitle fill (white, yellow) the pixels of that colour are the candidate letters. PP-OCR's
    boxes keep a margin of background around the letters, so a fill that also covers the box's border
    band is background (a light sign, the sky), not letters: such a candidate scores ``border_fraction``
    near 1. Of the candidates, one that keeps off the border (and is not a sliver beside a larger one),
    then the one with the darkest ring wins;
    without any, the brightest pixels stand in (and fail the colour test by their hue or their border).
    """
    h, w = image.shape[:2]
    x0, y0 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    x1, y1 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    rgb = image[y0:y1, x0:x1, :3].astype(np.float32)
    luma = rgb @ _LUMA
    bh, bw = luma.shape
    band = np.zeros((bh, bw), bool)
    t = max(1, int(round(0.1 * bh)))
    band[:t], band[-t:], band[:, :t], band[:, -t:] = True, True, True, True
    candidates = []
    for name, mask in _light_masks(rgb, luma).items():
        if mask.mean() < 0.01:
            continue
        candidates.append((name, mask))
    if not candidates:  # neither white nor yellow: describe the brightest tenth for the record
        candidates = [("brightest", luma >= np.percentile(luma, 90))]
    measured = []
    for name, mask in candidates:
        border = float(mask[band].mean())
        edge = _dilate(mask, ring) & ~mask
        edge_luma = float(np.median(luma[edge])) if edge.any() else 255.0
        fill_luma = float(np.median(luma[mask]))
        measured.append(((border > 0.3, edge_luma), mask, border, edge_luma, fill_luma - edge_luma))
    # Scene lettering on a coloured plate behind the subtitle can have a darker ring (the plate) than the
    # subtitle's letters (whose ring also takes in their anti-aliased edges), but hardly darker than
    # itself: when another fill is outlined, such a fill is scenery.
    if any(m[4] >= OUTLINED and m[2] <= 0.3 for m in measured):
        measured = [((m[0][0] or m[4] < LOW_CONTRAST, m[0][1]),) + m[1:] for m in measured]
    measured = [m[:4] for m in measured]
    # A sliver of the other colour (an orange plate or a nose beside white letters) must not stand in for
    # letters that cover far more of the box: among fills that keep off the border, under half as much as
    # the largest one is scenery.
    letters = [float(m[1].mean()) for m in measured if m[2] <= 0.3]
    if letters:
        most = max(letters)
        measured = [m for m in measured if m[2] > 0.3 or float(m[1].mean()) >= 0.5 * most]
    _, mask, border, edge_luma = min(measured, key=lambda m: m[0])
    # The letters' core: their brighter half, away from anti-aliased stroke borders.
    core = mask & (luma >= np.percentile(luma[mask], 50))
    fill = np.median(rgb[core], axis=0)
    mx, mn = float(fill.max()), float(fill.min())
    return BoxColors(fill_rgb=tuple(int(round(v)) for v in fill), fill_luma=float(fill @ _LUMA),
                     fill_saturation=(mx - mn) / mx if mx > 0 else 0.0, edge_luma=edge_luma,
                     fill_fraction=float(mask.mean()), border_fraction=border)


def _reconstruct(seed: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The parts of ``mask`` 8-connected to ``seed`` (morphological reconstruction; small regions only)."""
    cur = seed & mask
    while True:
        nxt = _dilate(cur, 1) & mask
        if (nxt == cur).all():
            return cur
        cur = nxt


# Light pixels of a mark, in squared line heights: a 。 is a thin ring, and JPEG and blur break it up.
# After a line a full stop is the likely thing to find; in a gap inside a line a mark is rarer, and a
# sliver of the glyph beside it must not pass for one, so more ink is asked for there.
MARK_AREA = 0.005
MARK_AREA_WITHIN = 0.008


def mark_ink(image: np.ndarray, region: tuple[float, float, float, float], fill_rgb, line_height: float,
             min_area: float = MARK_AREA) -> str:
    """The punctuation mark drawn by a small blob of the subtitle's fill colour, ringed darker, inside
    ``region``, or "" when there is none.

    Used where PP-OCR leaves a subtitle's punctuation out - the small ，and 。 at the baseline often fall
    outside its boxes: a gap inside a line, or just after its end. Blobs touching the region's top, bottom
    or right edge are background or the next letter, not a mark, and so is any piece not ringed darker.

    Returns "" when there is none, else the mark its shape says: a tall thin stroke (and its dot) is a
    ！, a tall wide one a ？, anything lower a 。 or ，(which of the two the caller knows from the place).
    The mark's light pixels must cover ``min_area`` squared line heights.
    """
    h, w = image.shape[:2]
    x0, y0 = max(0, int(region[0])), max(0, int(region[1]))
    x1, y1 = min(w, int(np.ceil(region[2]))), min(h, int(np.ceil(region[3])))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return ""
    rgb = image[y0:y1, x0:x1, :3].astype(np.float32)
    luma = rgb @ _LUMA
    fill = np.asarray(fill_rgb, np.float32)
    mask = np.abs(rgb - fill).max(axis=2) <= 45
    border = np.zeros_like(mask)
    border[0], border[-1], border[:, -1] = True, True, True
    blob = mask & ~_reconstruct(border, mask)
    dark_below = float(fill @ _LUMA) - 60
    # Judged piece by piece: a light speck of background beside the mark must not lighten the mark's ring.
    from scipy import ndimage

    labels, n = ndimage.label(blob, structure=np.ones((3, 3), bool))
    ink = np.zeros_like(blob)
    for k in range(1, n + 1):
        piece = labels == k
        ring = _dilate(piece, 2) & ~mask
        if ring.any() and float((luma[ring] < dark_below).mean()) >= 0.4:
            ink |= piece
    area = int(ink.sum())
    if not min_area * line_height ** 2 <= area <= 0.2 * line_height ** 2:
        return ""
    return mark_shape(ink, line_height, luma < dark_below)


# A mark's stroke reaching this many line heights from top to bottom, with a dot below, is a ！ or ？
# (the ring of a 。 is about 0.22 line heights); the ！ is a thin stroke, the ？'s hook about a third of a
# line height wide.
TALL_MARK = 0.3
THIN_MARK = 0.17


def mark_shape(blob: np.ndarray, line_height: float, dark: np.ndarray | None = None) -> str:
    """Which mark the pixels of ``blob`` (a boolean array) draw: "！", "？" or "。" (anything else).

    A ！ or ？ is a tall stroke (the largest piece) with its dot just below it; the ！'s stroke is thin.
    With ``dark`` (a boolean array of the darker pixels) only pieces mostly ringed by them count, and a
    piece touching the region's left edge is a stroke of the glyph before it."""
    from scipy import ndimage

    labels, n = ndimage.label(blob, structure=np.ones((3, 3), bool))
    pieces = []
    for k in range(1, n + 1):
        piece = labels == k
        if dark is not None:
            ring = _dilate(piece, 2) & ~blob
            if piece[:, 0].any() or not ring.any() or dark[ring].mean() < 0.5:
                continue
        rows, cols = np.flatnonzero(piece.any(axis=1)), np.flatnonzero(piece.any(axis=0))
        pieces.append((int(piece.sum()), rows[0], rows[-1], cols[0], cols[-1]))
    if not pieces:
        return "。"
    size, top, bottom, left, right = max(pieces)
    if bottom - top + 1 < TALL_MARK * line_height:
        return "。"
    dot = any(p_size < size and bottom < p_top <= bottom + 0.2 * line_height and p_left <= right and p_right >= left
              for p_size, p_top, _, p_left, p_right in pieces)
    if not dot:
        return "。"
    wide = right - left + 1
    return "！" if wide <= THIN_MARK * line_height else "？"


def ink_mask(image: np.ndarray, box: tuple[float, float, float, float], fill_rgb, tol: float = 50.0,
             drop: float = 90.0, reach: int = 2, need_edge: bool = True) -> np.ndarray:
    """The subtitle's letter pixels inside ``box``: the fill colour (within ``tol`` per channel) no more
    than ``reach`` pixels from something at least ``drop`` luma darker (the outline, the shadow, or a dark
    background). Scene text in other colours, dark letters on light plates and light backgrounds without
    a dark edge are left out (with ``need_edge`` False only the colour counts). Returns a boolean array
    the size of the (clipped) box."""
    h, w = image.shape[:2]
    x0, y0 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    x1, y1 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    if x1 - x0 < 1 or y1 - y0 < 1:
        return np.zeros((max(0, y1 - y0), max(0, x1 - x0)), bool)
    rgb = image[y0:y1, x0:x1, :3].astype(np.float32)
    luma = rgb @ _LUMA
    fill = np.asarray(fill_rgb, np.float32)
    fill_mask = np.abs(rgb - fill).max(axis=2) <= tol
    if not need_edge:
        return fill_mask
    dark = luma < float(fill @ _LUMA) - drop
    return fill_mask & _dilate(dark, reach)


def comma_marks(mask: np.ndarray, line_height: float, min_ink: float = 0.03) -> list[tuple[int, int]]:
    """Columns (first, last + 1, in ``mask`` coordinates) of the commas and full stops an ``ink_mask``
    shows between glyphs.

    A mark is a run of ink columns with empty columns on both sides, too little ink for a glyph
    (``min_ink`` squared line heights), narrow, reaching below the middle of the glyph body without
    starting in its top quarter, and followed by at least 0.3 line heights of empty columns before the
    next glyph (the rest of its full-width cell). A detached stroke of a glyph (the dots of 小 or 心)
    either shares its columns with the rest of the glyph or sits close to it."""
    body = ink_body(mask, 0)
    if body is None:
        return []
    top, bottom = body
    bh = bottom - top
    cols = mask.sum(axis=0)
    on = np.flatnonzero(cols > 0)
    runs: list[list[int]] = []
    for c in on:
        if runs and c == runs[-1][1]:
            runs[-1][1] = int(c) + 1
        else:
            runs.append([int(c), int(c) + 1])
    out = []
    for i, (a, b) in enumerate(runs):
        ink = int(cols[a:b].sum())
        if ink >= min_ink * line_height ** 2 or ink < 0.004 * bh ** 2 or i + 1 >= len(runs) or i == 0:
            continue
        if runs[i + 1][0] - b < 0.3 * line_height or b - a > 0.4 * bh:
            continue
        rows = np.flatnonzero(mask[:, a:b].any(axis=1))
        r0, r1 = float(rows.min()), float(rows.max()) + 1
        if r0 >= top + 0.25 * bh and r1 >= top + 0.6 * bh and r1 - r0 <= 0.55 * bh:
            out.append((a, b))
    return out


def ink_body(mask: np.ndarray, y0: float) -> tuple[float, float] | None:
    """Top and bottom frame rows of the glyphs in an ``ink_mask`` whose first row is ``y0``."""
    rows = mask.sum(axis=1)
    if rows.sum() == 0:
        return None
    cum = np.cumsum(rows) / rows.sum()
    return y0 + float(np.searchsorted(cum, 0.02)), y0 + float(np.searchsorted(cum, 0.98)) + 1


def ink_clusters(mask: np.ndarray, line_height: float, join: float = 0.08,
                 min_ink: float = 0.02) -> list[tuple[int, int, int]]:
    """Runs of columns holding letter ink, as (first column, last column + 1, ink pixels), left to right.

    Columns closer than ``join`` line heights are one run (strokes of one glyph); runs with less than
    ``min_ink`` * line_height**2 pixels (a star, a highlight, JPEG noise) are dropped."""
    if mask.size == 0:
        return []
    cols = mask.sum(axis=0)
    on = np.flatnonzero(cols > 0)
    if on.size == 0:
        return []
    runs: list[list[int]] = []
    bridge = max(1, int(round(join * line_height)))
    for c in on:
        if runs and c - runs[-1][1] <= bridge:
            runs[-1][1] = int(c) + 1
        else:
            runs.append([int(c), int(c) + 1])
    floor = min_ink * line_height ** 2
    out = []
    for a, b in runs:
        ink = int(cols[a:b].sum())
        if ink >= floor:
            out.append((a, b, ink))
    return out


__all__ = ["BoxColors", "comma_marks", "ink_body", "ink_clusters", "ink_mask", "mark_ink", "mark_shape",
           "measure_box"]
