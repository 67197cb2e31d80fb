"""Spaces PP-OCR drops inside one box, found from the gaps between glyphs: on made-up column profiles and
on lines drawn with the CJK font."""

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from subtitle_vlm.engines.ppocr.colors import ink_mask
from subtitle_vlm.engines.ppocr.spaces import insert_spaces, space_positions


def _columns(widths_and_gaps) -> np.ndarray:
    """A column profile: alternating ink widths and gap widths, starting with ink."""
    cols = []
    for k, w in enumerate(widths_and_gaps):
        cols += [k % 2 == 0] * w
    return np.array([False] * 20 + cols + [False] * 20)


def test_one_wide_gap_between_chinese_characters_is_a_space():
    # Eight 46-px glyphs on a 54-px pitch; a 16-px space after the third.
    profile = [46, 8, 46, 8, 46, 8 + 16] + [46, 8] * 4 + [46]
    assert space_positions(_columns(profile), "等一下我馬上就到") == [3]
    assert insert_spaces("等一下我馬上就到", [3]) == "等一下 我馬上就到"


def test_even_gaps_or_a_gap_beside_a_mark_are_not_spaces():
    even = [46, 8] * 7 + [46]
    assert space_positions(_columns(even), "等一下我馬上就到") == []
    # Letter spacing widens every gap alike: still no space.
    assert space_positions(_columns([46, 20] * 7 + [46]), "等一下我馬上就到") == []
    # The wide gap falls after a full-width comma (its ink is small): that is the comma's own cell.
    profile = [46, 8, 46, 8, 46, 8, 12, 40] + [46, 8] * 3 + [46]
    assert space_positions(_columns(profile), "報告長，我來了嗎") == []


def test_lines_that_do_not_qualify_are_left_alone():
    profile = [46, 8, 46, 8 + 16] + [46, 8] * 3 + [46]
    assert space_positions(_columns(profile), "你的iPhone") == []            # Latin: another pitch
    assert space_positions(_columns(profile), "喂 你到了") == []             # already has its space
    hidden = [46, 8, 46, 8 + 16, 46, 8 + 54, 46, 8, 46]                      # one glyph unseen
    assert space_positions(_columns(hidden), "喂你到了沒哦") == []


@pytest.fixture(scope="module")
def font():
    from subtitle_vlm.synth.fonts import wheel_font_files

    files = list(wheel_font_files())
    if not files:
        pytest.skip("no CJK font wheel installed")
    return ImageFont.truetype(str(files[0]), 60)


@pytest.mark.parametrize("text, expected", [("拜託 再給我五分鐘", "拜託 再給我五分鐘"), ("等一下 我馬上就到", "等一下 我馬上就到"),
                                            ("他們一起走過了最難熬的日子", "他們一起走過了最難熬的日子"),
                                            ("算了，我自己去就好。", "算了，我自己去就好。")])
def test_drawn_lines_get_their_spaces_back(font, text, expected):
    img = Image.new("RGB", (1000, 120), (110, 120, 100))
    ImageDraw.Draw(img).text((40, 20), text, font=font, fill=(250, 250, 250), stroke_width=3,
                             stroke_fill=(0, 0, 0))
    rgb = np.asarray(img)
    box = (30, 10, 40 + font.getlength(text) + 10, 105)
    mask = ink_mask(rgb, box, (250, 250, 250))
    read = text.replace(" ", "")                       # what PP-OCR returns
    assert insert_spaces(read, space_positions(mask.any(axis=0), read)) == expected
