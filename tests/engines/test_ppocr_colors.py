"""Colour measurements inside a detected text box (the selector's colour features)."""

import numpy as np

from subtitle_vlm.engines.ppocr.colors import measure_box

W, H = 1280, 720
TOP, BOTTOM = 600, 676          # the line's box; glyphs are drawn 613..663
WHITE = (252, 252, 252)


def _draw(fill, edge, bg, outline=True):
    """A 60x300 box: background, then bars of `fill` letters ringed by a 2 px `edge` outline."""
    img = np.zeros((60, 300, 3), np.uint8)
    img[:] = bg
    for x in range(20, 280, 30):
        if outline:
            img[13:47, x - 2:x + 12] = edge
        img[15:45, x:x + 10] = fill
    return img


def test_measure_box_tells_subtitles_from_signs():
    white_on_sky = measure_box(_draw((252, 252, 252), (10, 10, 10), (170, 200, 235)), (0, 0, 300, 60))
    assert white_on_sky.fill_luma > 240 and white_on_sky.border_fraction == 0
    white_on_dark = measure_box(_draw((250, 250, 250), (0, 0, 0), (40, 50, 30), outline=False), (0, 0, 300, 60))
    yellow = measure_box(_draw((250, 225, 30), (0, 0, 0), (60, 60, 60)), (0, 0, 300, 60))
    assert yellow.is_yellowish and not white_on_dark.is_yellowish
    for sub in (white_on_sky, white_on_dark, yellow):
        assert sub.contrast > 150 and sub.border_fraction < 0.1
    # Red letters: a saturated fill, darker than a subtitle's.
    red = measure_box(_draw((210, 30, 30), (0, 0, 0), (30, 30, 30), outline=False), (0, 0, 300, 60))
    assert red.fill_saturation > 0.7 and red.fill_luma < 150
    # Dark letters on a light plate: the "fill" is the plate, which covers the border band.
    plate = measure_box(_draw((20, 20, 20), (20, 20, 20), (235, 235, 235), outline=False), (0, 0, 300, 60))
    assert plate.border_fraction > 0.9
    assert measure_box(np.zeros((10, 10, 3), np.uint8), (0, 0, 2, 2)) is None


def _frame(bg=(120, 110, 100)) -> np.ndarray:
    img = np.empty((H, W, 3), np.uint8)
    img[:] = bg
    return img


def _glyph(img, x, w=46, y0=613, y1=663, fill=WHITE):
    """A solid 'glyph' with a 2-pixel black outline."""
    img[y0 - 2:y1 + 2, x - 2:x + w + 2] = 0
    img[y0:y1, x:x + w] = fill


def _line(img, x0, n, step=60, fill=WHITE):
    for i in range(n):
        _glyph(img, x0 + i * step, fill=fill)
    return x0 + (n - 1) * step + 46     # right edge of the last glyph


def test_measure_box_prefers_the_letters_to_a_sliver_of_other_colour():
    img = _frame((150, 130, 110))
    end = _line(img, 400, 8)
    img[615:622, end + 20:end + 60] = (250, 190, 80)      # a thin orange plate edge inside the box
    colors = measure_box(img, (380, TOP, end + 80, BOTTOM))
    assert max(abs(a - b) for a, b in zip(colors.fill_rgb, WHITE)) <= 10


def test_outlined_letters_win_over_lettering_on_a_plate_behind_them():
    img = _frame((155, 155, 155))
    img[600:676, 300:700] = (200, 120, 50)                  # an orange plate behind the subtitle's start
    for x in range(320, 680, 30):
        img[612:664, x:x + 8] = (225, 185, 80)              # light lettering painted on the plate
    for x in range(710, 950, 16):                           # white strokes with a thin dark outline:
        img[612:665, x - 1:x + 7] = 60                      # their 2-pixel ring is half background
        img[613:664, x:x + 6] = WHITE
    colors = measure_box(img, (300, TOP, 960, BOTTOM))
    assert max(abs(a - b) for a, b in zip(colors.fill_rgb, WHITE)) <= 10
