"""Effects a record asks for: translucent boxes, drop shadows, text with opacity, and degradations.

Every effect works on the smallest region it touches (a crop of the frame), never on a full-frame
layer, so an effect costs in proportion to the text, not to the frame.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from subtitle_vlm.synth.layout import Box, draw_block

RESAMPLE = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
            "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS,
            "box": Image.Resampling.BOX}


def clip_box(box: Box, size: tuple[int, int]) -> Box | None:
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(size[0], int(box[2])), min(size[1], int(box[3]))
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def draw_box(img: Image.Image, rect: Box, color, alpha: float) -> None:
    """Blend a solid colour into ``rect`` (a translucent box behind text)."""
    r = clip_box(rect, img.size)
    if r is None:
        return
    region = img.crop(r)
    solid = Image.new("RGB", region.size, tuple(color))
    img.paste(Image.blend(region, solid, float(alpha)), r[:2])


def draw_text_masked(img: Image.Image, region: Box, lines, line_xy, font, color, spacing: int = 0,
                     stroke_width: int = 0, offset=(0, 0), blur: float = 0.0, opacity: float = 1.0) -> None:
    """Composite text in one colour through a mask limited to ``region``: soft shadows and see-through logos."""
    r = clip_box(region, img.size)
    if r is None:
        return
    mask = Image.new("L", (r[2] - r[0], r[3] - r[1]), 0)
    draw_block(ImageDraw.Draw(mask), lines, line_xy, font, 255, spacing, stroke_width, 255,
               offset=(offset[0] - r[0], offset[1] - r[1]))
    if blur > 0:
        mask = mask.filter(ImageFilter.GaussianBlur(blur))
    if opacity < 1.0:
        mask = mask.point(lambda v: int(v * opacity + 0.5))
    region_img = img.crop(r)
    region_img.paste(Image.new("RGB", mask.size, tuple(color)), (0, 0), mask)
    img.paste(region_img, r[:2])


def degrade(img: Image.Image, deg: dict | None, seed: int) -> Image.Image:
    """Resolution round trip, blur and noise, in that order (JPEG quality is applied when saving)."""
    if not deg:
        return img
    rs = deg.get("resample")
    if rs:
        w, h = img.size
        th = int(rs["height"])
        tw = max(2, int(round(w * th / h)))
        img = img.resize((tw, th), RESAMPLE[rs.get("down", "bilinear")])
        img = img.resize((w, h), RESAMPLE[rs.get("up", "bilinear")])
    if deg.get("blur"):
        img = img.filter(ImageFilter.GaussianBlur(float(deg["blur"])))
    sigma = float(deg.get("noise") or 0.0)
    if sigma > 0:
        rng = np.random.default_rng([int(seed), 7])
        arr = np.asarray(img, dtype=np.float32)
        # luminance noise (one plane, broadcast over RGB): a third of the cost of per-channel noise
        arr = arr + rng.standard_normal((arr.shape[0], arr.shape[1], 1), dtype=np.float32) * sigma
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    return img
