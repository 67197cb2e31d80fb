"""Subtitle-band crops, shared by training and inference so both see the same pixels.

A crop spec is a string saved in the run config:
    ""/"none"          the whole frame
    "bottom=0.33"      the bottom third of the frame
    "box=x0,y0,x1,y1"  a fixed box in fractions of width/height
    "auto"             the box the PP-OCR subtitle selector finds (needs the ppocr extra; see engines.ppocr)

``crop_or_none`` is the one place that decides whether a spec crops at all ("", "none", "full" and None do
not); training, merge, the predict loop and the video reader ask it rather than keep their own word lists.
"""

from __future__ import annotations

from dataclasses import dataclass

from subtitle_vlm.io import InputError


@dataclass(frozen=True)
class CropSpec:
    kind: str  # none | bottom | box | auto
    box: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)

    def __str__(self) -> str:
        if self.kind == "none":
            return "none"
        if self.kind == "bottom":
            return f"bottom={1.0 - self.box[1]:g}"
        if self.kind == "box":
            return "box=" + ",".join(f"{v:g}" for v in self.box)
        return self.kind


def parse_crop(spec: str | None) -> CropSpec:
    s = (spec or "none").strip().lower()
    if s in ("", "none", "full"):
        return CropSpec("none")
    if s == "auto":
        return CropSpec("auto")
    key, _, val = s.partition("=")
    try:
        if key == "bottom":
            frac = float(val)
            if not 0.0 < frac <= 1.0:
                raise ValueError
            return CropSpec("bottom", (0.0, 1.0 - frac, 1.0, 1.0))
        if key == "box":
            x0, y0, x1, y1 = (float(v) for v in val.split(","))
            if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
                raise ValueError
            return CropSpec("box", (x0, y0, x1, y1))
    except ValueError:
        pass
    raise InputError(f"bad crop {spec!r}: use none, auto, bottom=FRACTION (0-1] or box=x0,y0,x1,y1 in fractions")


def crop_or_none(spec: str | CropSpec | None) -> str | None:
    """The spec in its one spelling (``AUTO`` -> ``auto``, ``bottom=.5`` -> ``bottom=0.5``; fractions keep 6
    significant digits, as the run config records them) when it crops, None when it means the whole frame.

    A bad spec raises the same error as ``parse_crop``, so a typo is caught when the setting is resolved,
    not when the first frame is read.
    """
    cs = spec if isinstance(spec, CropSpec) else parse_crop(spec)
    if cs.kind == "none":
        return None
    return str(cs)


def crop_image(image, spec: str | CropSpec | None):
    """Apply a fixed crop spec to a PIL image (``auto`` must be resolved to a box by the caller)."""
    cs = spec if isinstance(spec, CropSpec) else parse_crop(spec)
    if cs.kind == "none":
        return image
    if cs.kind == "auto":
        raise ValueError("crop 'auto' needs a detected box; resolve it with engines.ppocr.subtitle_box first")
    w, h = image.size
    x0, y0, x1, y1 = cs.box
    return image.crop((round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h)))
