"""The band signature: big differences for subtitle changes, small ones for a moving, noisy background."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from subtitle_vlm.synth.fonts import discover_fonts
from subtitle_vlm.video import band

W, H = 640, 120


def _font(size=40):
    fonts, _ = discover_fonts()
    return ImageFont.truetype(fonts[0].path, size, index=fonts[0].index)


def _frame(text: str, shift: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W]
    bg = 90 + 60 * np.sin((xx + shift) / 23.0) * np.cos(yy / 17.0)  # textured, moves with shift
    img = Image.fromarray(np.clip(bg + rng.normal(0, 4, bg.shape), 0, 255).astype(np.uint8)).convert("RGB")
    if text:
        d = ImageDraw.Draw(img)
        d.text((40, 40), text, font=_font(), fill=(250, 250, 250), stroke_width=2, stroke_fill=(0, 0, 0))
    return np.asarray(img.convert("L"))


def sig(text, shift=0, seed=0):
    return band.signature(_frame(text, shift, seed), band.for_height(720))


def test_text_changes_are_far_background_motion_is_near():
    a, a_moved, b = sig("你今天怎麼這麼早回來", 0, 0), sig("你今天怎麼這麼早回來", 7, 1), sig("我們先去吃飯好不好", 0, 2)
    empty, empty_moved = sig("", 0, 3), sig("", 9, 4)
    assert band.distance(a, a_moved) < 0.1
    assert band.distance(a, b) > 0.3
    assert band.distance(empty, a) > 0.8
    assert band.distance(empty, empty_moved) < 0.1
    assert band.is_empty(empty) and not band.is_empty(a)


def test_band_box_and_settings():
    assert band.band_box("bottom=0.25", 1280, 720) == (0, 540, 1280, 720)
    assert band.band_box("none", 320, 180) == (0, 0, 320, 180)
    assert band.for_height(720).step == 2 and band.for_height(180).step == 1 and band.for_height(1080).step == 3
