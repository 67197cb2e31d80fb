"""Cheap change detection on the subtitle band.

A burned-in subtitle is bright text with a dark outline or shadow: its pixels are bright AND sit on a
strong edge. Photographic backgrounds seldom have both at once, so a mask of such pixels, counted per
cell of a coarse grid, changes a lot when a subtitle appears, disappears or changes, and little when the
background pans, zooms or flickers with noise. Everything works on the luma plane (no colour
conversion) at half resolution: well under a millisecond per 720p band.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from subtitle_vlm.crop import CropSpec, parse_crop


@dataclass(frozen=True)
class BandSettings:
    luma_min: int = 170  # a text pixel is at least this bright (white, yellow and light-grey subtitles)
    edge_min: int = 60  # ... and within one pixel of a luma step at least this large (the outline)
    step: int = 2  # subsample rows and columns by this before anything else (see for_height)
    cell: int = 8  # grid cell side, in subsampled pixels
    floor: float = 0.001  # mass (share of band pixels) below which a band counts as empty of text
    # Differences are measured against at least this much text mass: a band with a few stray text-like
    # pixels (a bright edge in the scene, noise) then stays "the same" while they flicker, and a
    # subtitle of a character or two still counts as a change.
    norm_mass: float = 0.005
    cell_change: float = 0.06  # share of a cell's pixels that must change for the cell to count


def for_height(height: int, **kw) -> BandSettings:
    """Settings for a video ``height`` pixels tall: subsample so the band is looked at near 360p (strokes
    of a 720p subtitle stay several pixels wide; small test videos keep every pixel)."""
    return BandSettings(step=max(1, round(height / 360)), **kw)


def band_box(crop: str | CropSpec | None, width: int, height: int) -> tuple[int, int, int, int]:
    """Pixel box (x0, y0, x1, y1) of the band a crop spec names; 'none' is the whole frame."""
    cs = crop if isinstance(crop, CropSpec) else parse_crop(crop)
    if cs.kind == "auto":
        raise ValueError("resolve crop 'auto' to a box before asking for its band")
    x0, y0, x1, y1 = cs.box
    return (round(x0 * width), round(y0 * height), max(round(x1 * width), 1), max(round(y1 * height), 1))


def text_mask(luma: np.ndarray, s: BandSettings = BandSettings()) -> np.ndarray:
    """Boolean mask of likely subtitle pixels in a (rows, cols) uint8 luma band, subsampled by ``s.step``."""
    y = luma[:: s.step, :: s.step].astype(np.int16)
    edge = np.zeros(y.shape, dtype=bool)
    gx = np.abs(np.diff(y, axis=1)) >= s.edge_min
    gy = np.abs(np.diff(y, axis=0)) >= s.edge_min
    # An edge between two pixels marks both; a 1-pixel outline then touches the stroke it surrounds.
    edge[:, 1:] |= gx
    edge[:, :-1] |= gx
    edge[1:, :] |= gy
    edge[:-1, :] |= gy
    return (y >= s.luma_min) & edge


def signature(luma: np.ndarray, s: BandSettings = BandSettings()) -> np.ndarray:
    """Per-cell counts of text-mask pixels: a small float32 grid (~80x14 for a 720p bottom third)."""
    m = text_mask(luma, s)
    rows, cols = m.shape
    c = s.cell
    r2, c2 = -(-rows // c) * c, -(-cols // c) * c
    if (r2, c2) != m.shape:
        m = np.pad(m, ((0, r2 - rows), (0, c2 - cols)))
    return m.reshape(r2 // c, c, c2 // c, c).sum(axis=(1, 3), dtype=np.int32).astype(np.float32)


def mass(sig: np.ndarray, s: BandSettings = BandSettings()) -> float:
    """Share of (subsampled) band pixels that look like subtitle text."""
    return float(sig.sum()) / max(sig.size * s.cell * s.cell, 1)


def distance(a: np.ndarray, b: np.ndarray, s: BandSettings = BandSettings()) -> float:
    """How different two bands look, 0 (same text) .. 1 (no text in common).

    Total absolute change of the per-cell counts over the text in both (at least ``norm_mass`` of the
    band each), so a few stray pixels flickering do not look like a new subtitle.
    """
    if a.shape != b.shape:
        return 1.0
    floor = 2 * s.norm_mass * a.size * s.cell * s.cell
    diff = np.abs(a - b)
    # A cell counts only when a real share of it changed: noise and a panning background move a few
    # pixels in many cells, a subtitle changes many pixels in the cells it covers.
    diff[diff < s.cell_change * s.cell * s.cell] = 0
    return float(diff.sum() / max(a.sum() + b.sum(), floor))


def is_empty(sig: np.ndarray, s: BandSettings = BandSettings()) -> bool:
    return mass(sig, s) < s.floor


__all__ = ["BandSettings", "for_height", "band_box", "text_mask", "signature", "mass", "distance", "is_empty"]
