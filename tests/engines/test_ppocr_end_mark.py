"""A final mark is put back only when the recogniser reads exactly the line plus that mark."""

import numpy as np

from subtitle_vlm.engines.ppocr.detection import Detection, Row, Selection
from subtitle_vlm.engines.ppocr.end_mark import EXTEND, end_mark


def _sel(text, box=(400, 600, 800, 660)):
    d = Detection(box, text, 0.99)
    return Selection(text, tuple(int(v) for v in box), [Row([d])], [])


def test_the_mark_the_box_cut_off_is_kept_when_read_again():
    asked = []

    def read(rect):
        asked.append(rect)
        return "我們明天見。"

    assert end_mark(_sel("我們明天見"), np.zeros((720, 1280, 3), np.uint8), read) == "。"
    # The box was read again extended to the right by EXTEND line heights, nothing else changed.
    assert asked == [(400, 600, 800 + EXTEND * 60, 660)]


def test_no_mark_without_the_recogniser_reading_one_or_when_the_line_has_one():
    rgb = np.zeros((720, 1280, 3), np.uint8)
    assert end_mark(_sel("我們明天見"), rgb, lambda r: "我們明天見") == ""         # nothing more on screen
    assert end_mark(_sel("我們明天見"), rgb, lambda r: "我們明天見書") == ""       # a sign, not a mark
    assert end_mark(_sel("我們明天見"), rgb, lambda r: "我們明天見。。") == ""     # more than one mark
    assert end_mark(_sel("我們明天見"), rgb, lambda r: "我們明大見。") == ""       # another reading
    assert end_mark(_sel("我們明天見"), rgb, lambda r: None) == ""
    assert end_mark(_sel("好，明天見！"), rgb, lambda r: "好，明天見！。") == ""   # already ends with a mark
    assert end_mark(Selection("", None), rgb, lambda r: "。") == ""
