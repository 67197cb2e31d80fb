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


__all__ = ["BoxColors", "measure_box"]
