"""The reference selectors benchmarks measure against, the detection geometry and the line join."""

from subtitle_vlm.engines.ppocr.colors import BoxColors
from subtitle_vlm.engines.ppocr.detection import Detection, quad_to_rect
from subtitle_vlm.engines.ppocr.reference import select_all, select_naive, select_oracle
from subtitle_vlm.engines.ppocr.select_config import join_lines

W, H = 1280, 720
SUB = BoxColors(fill_rgb=(250, 250, 248), fill_luma=249.0, fill_saturation=0.01, edge_luma=20.0, fill_fraction=0.3)
PLATE = BoxColors(fill_rgb=(240, 240, 240), fill_luma=240.0, fill_saturation=0.0, edge_luma=215.0, fill_fraction=0.7,
                  border_fraction=0.95)


def centred(text, top, h=76, width=700, colors=SUB, score=0.99, dx=0):
    x0 = (W - width) / 2 + dx
    return Detection((x0, top, x0 + width, top + h), text, score, colors)


def test_reference_selectors():
    dets = [Detection((20, 20, 200, 70), "台視", 0.99, SUB),
            centred("再出去吃飯。", 620, width=400), centred("我們先把行李放好，", 535, width=620),
            Detection((60, 600, 200, 640), "EXIT", 0.9, PLATE)]
    assert select_all(dets) == "台視 我們先把行李放好， EXIT 再出去吃飯。"
    assert select_naive(dets, W, H) == "我們先把行李放好，再出去吃飯。"
    # EXIT sits between the two lines in reading order: the oracle may still pair the two lines ...
    assert select_oracle(dets, "我們先把行李放好，再出去吃飯。") == "我們先把行李放好，再出去吃飯。"
    # ... but takes three or more lines only as a contiguous run.
    three = [centred("第一行", 450), Detection((60, 530, 200, 560), "X", 0.9, PLATE), centred("第二行", 535),
             centred("第三行", 620)]
    assert select_oracle(three, "第一行第二行第三行") == "第一行X第二行第三行"
    assert select_oracle(dets, "台視") == "台視"
    assert select_oracle(dets, "") == ""


def test_quad_to_rect():
    assert quad_to_rect([[209, 608], [1031, 605], [1031, 680], [209, 682]]) == (209, 605, 1031, 682)


def test_join_lines_modes():
    assert join_lines(["我們先把行李放好，", "再出去吃飯。"]) == "我們先把行李放好，再出去吃飯。"
    assert join_lines(["今天去 7-11", "買咖啡"]) == "今天去 7-11買咖啡"
    assert join_lines(["I love", "Taipei"]) == "I love Taipei"
    assert join_lines(["一", "二"], "space") == "一 二"
