"""Subtitle selection on constructed detections (no OCR model involved)."""

import numpy as np
import pytest

from subtitle_vlm.engines.ppocr.colors import BoxColors, measure_box
from subtitle_vlm.engines.ppocr.reference import select_all, select_naive, select_oracle
from subtitle_vlm.config import coerce_options
from subtitle_vlm.engines.ppocr.rules import (Detection, PPOCRSelectConfig, join_lines,
                                               quad_to_rect, select_subtitle)
from subtitle_vlm.engines.ppocr.text import fix_simplified, tidy_text

W, H = 1280, 720
SUB = BoxColors(fill_rgb=(250, 250, 248), fill_luma=249.0, fill_saturation=0.01, edge_luma=20.0, fill_fraction=0.3)
YELLOW = BoxColors(fill_rgb=(250, 230, 40), fill_luma=214.0, fill_saturation=0.84, edge_luma=15.0, fill_fraction=0.3)
RED = BoxColors(fill_rgb=(220, 40, 40), fill_luma=94.0, fill_saturation=0.82, edge_luma=10.0, fill_fraction=0.3)
PLATE = BoxColors(fill_rgb=(240, 240, 240), fill_luma=240.0, fill_saturation=0.0, edge_luma=215.0, fill_fraction=0.7,
                  border_fraction=0.95)


def centred(text, top, h=76, width=700, colors=SUB, score=0.99, dx=0):
    x0 = (W - width) / 2 + dx
    return Detection((x0, top, x0 + width, top + h), text, score, colors)


def test_single_centred_bottom_line_is_chosen_and_boxed():
    sel = select_subtitle([centred("我們先把行李放好，再出去吃飯。", 600)], W, H)
    assert sel.text == "我們先把行李放好，再出去吃飯。"
    assert sel.box == (290, 600, 990, 676)


def test_station_logo_in_corner_and_top_title_are_rejected():
    dets = [centred("今天的天氣真好", 610),
            Detection((1100, 30, 1250, 80), "台視", 0.99, SUB),         # logo, top right
            Detection((1080, 620, 1260, 670), "中視新聞", 0.99, SUB),    # logo, bottom right corner
            centred("美食大探索", 40, h=90, width=500)]                   # title, top centre
    sel = select_subtitle(dets, W, H)
    assert sel.text == "今天的天氣真好"
    reasons = dict(sel.rejected)
    assert reasons["台視"] == "outside the subtitle region"
    assert reasons["中視新聞"] == "not centred"
    assert reasons["美食大探索"] == "outside the subtitle region"


def test_two_lines_join_top_first_whatever_the_detection_order():
    lower, upper = centred("再出去吃飯。", 620, width=400), centred("我們先把行李放好，", 535, width=620)
    for dets in ([lower, upper], [upper, lower]):
        sel = select_subtitle(dets, W, H)
        assert sel.text == "我們先把行李放好，再出去吃飯。"
        assert sel.box[1] == 535 and sel.box[3] == 696


def test_three_stacked_lines_keep_only_the_lowest_two():
    dets = [centred("第一行", 450), centred("第二行", 535), centred("第三行", 620)]
    assert select_subtitle(dets, W, H).text == "第二行第三行"
    assert select_subtitle(dets, W, H, PPOCRSelectConfig(max_lines=1, region_top=0.5)).text == "第三行"


def flush_left(text, top, x0=560, h=40, colors=SUB):
    return Detection((x0, top, x0 + 40 * len(text), top + h), text, 0.99, colors)


def test_a_poster_of_three_flush_lines_is_not_a_subtitle_even_when_its_top_line_is_high():
    poster = [flush_left("出口洗衣店", 380), flush_left("請勿吸菸水果行", 424), flush_left("麵包店郵局", 468)]
    sel = select_subtitle(poster, W, H)
    assert sel.text == "" and sel.box is None
    assert any("block of more than 2 lines" in why for _, why in sel.rejected)
    # Two of its lines alone are no block: the rule leaves them to the other tests.
    assert select_subtitle(poster[1:], W, H).text != ""
    # With max_lines=3 such a block may be a subtitle again.
    assert select_subtitle(poster, W, H, PPOCRSelectConfig(region_top=0.5, max_lines=3)).text != ""


def test_a_sign_roughly_flush_with_a_subtitle_line_does_not_make_a_block():
    sub = [centred("天色漸暗，", 436, h=86, width=323), centred("村子裡亮起了燈", 540, h=84, width=480)]
    sign = Detection((sub[1].box[2] - 166 + 12, 646, sub[1].box[2] + 12, 719), "銀行", 0.99, SUB)
    assert select_subtitle(sub + [sign], W, H).text == "天色漸暗，村子裡亮起了燈"
    exact = Detection((sub[1].box[2] - 166, 646, sub[1].box[2], 719), "銀行", 0.99, SUB)
    # Flush to the pixel but the two subtitle lines are centred, not flush right: still no block.
    assert select_subtitle(sub + [exact], W, H).text == "天色漸暗，村子裡亮起了燈"


def test_a_mark_boxed_on_its_own_ends_the_line_it_follows():
    line = centred("這座老市場，已經有百年歷史", 568, h=78, width=914)
    mark = Detection((line.box[2] - 29, 583, line.box[2] + 38, 629), "。", 0.82, SUB)
    assert select_subtitle([line, mark], W, H).text == "這座老市場，已經有百年歷史。"
    far = Detection((line.box[2] + 200, 583, line.box[2] + 260, 629), "。", 0.82, SUB)
    assert select_subtitle([line, far], W, H).text == "這座老市場，已經有百年歷史"


def test_a_blurred_yellow_fill_counts_by_its_brightest_channel():
    dim = BoxColors(fill_rgb=(172, 153, 27), fill_luma=144.3, fill_saturation=0.84, edge_luma=85.0, fill_fraction=0.05)
    assert select_subtitle([centred("央行總裁今天出席立法院", 620, colors=dim)], W, H).text == "央行總裁今天出席立法院"
    grey = BoxColors(fill_rgb=(144, 144, 144), fill_luma=144.0, fill_saturation=0.0, edge_luma=40.0, fill_fraction=0.05)
    assert select_subtitle([centred("央行總裁今天出席立法院", 620, colors=grey)], W, H).text == ""


def test_lines_far_apart_or_of_different_size_are_not_one_subtitle():
    far = [centred("上面的字幕", 420), centred("下面的字幕", 630)]
    assert select_subtitle(far, W, H, PPOCRSelectConfig(region_top=0.5)).text == "下面的字幕"
    sizes = [centred("大字標題", 480, h=120), centred("下面的字幕", 610)]
    assert select_subtitle(sizes, W, H, PPOCRSelectConfig(region_top=0.5)).text == "下面的字幕"


def test_no_subtitle_gives_empty_text_and_no_box():
    dets = [Detection((40, 30, 200, 80), "東森", 0.98, SUB),
            Detection((100, 300, 400, 360), "OPEN", 0.95, PLATE)]
    sel = select_subtitle(dets, W, H)
    assert sel.text == "" and sel.box is None
    assert select_subtitle([], W, H).text == ""


def test_scene_text_rejected_by_colour_latin_and_confidence():
    dets = [centred("便利商店", 560, colors=PLATE),            # dark letters on a light sign
            centred("STARBUCKS", 640, width=300),              # Latin fragment on a shirt
            centred("模糊的字", 600, score=0.3)]               # half-seen text in the scene
    sel = select_subtitle(dets, W, H)
    assert sel.text == ""
    reasons = dict(sel.rejected)
    assert reasons["便利商店"].startswith("not subtitle-like enough")
    assert reasons["STARBUCKS"] == "no Chinese characters"
    assert reasons["模糊的字"] == "low confidence"
    # The same sign passes once colours are not checked: its colours are what rejected it.
    assert select_subtitle(dets[:1], W, H, PPOCRSelectConfig(check_colors=False)).text == "便利商店"


def test_coloured_caption_loses_to_white_subtitle_and_yellow_is_allowed_or_not():
    dets = [centred("新聞快報", 520, colors=RED), centred("他馬上就到了", 620)]
    assert select_subtitle(dets, W, H).text == "他馬上就到了"
    yellow = [centred("黃色的字幕", 620, colors=YELLOW)]
    assert select_subtitle(yellow, W, H).text == "黃色的字幕"
    assert select_subtitle(yellow, W, H, PPOCRSelectConfig(allow_yellow=False)).text == ""
    assert dict(select_subtitle(dets[:1], W, H).rejected)["新聞快報"] == "not white or yellow"


def test_split_row_is_merged_with_a_space_and_judged_centred_as_a_whole():
    left = Detection((300, 610, 620, 686), "我們走吧", 0.99, SUB)   # each part alone is off-centre
    right = Detection((660, 610, 980, 686), "明天見", 0.99, SUB)
    sel = select_subtitle([right, left], W, H)
    assert sel.text == "我們走吧 明天見"
    assert sel.box == (300, 610, 980, 686)
    # A logo on the same row far to the right is not merged into the subtitle.
    logo = Detection((1150, 615, 1260, 680), "台視", 0.99, SUB)
    assert select_subtitle([left, right, logo], W, H).text == "我們走吧 明天見"


def test_region_and_centre_options_move_the_window():
    high = [centred("比較高的字幕", 300)]
    assert select_subtitle(high, W, H).text == ""
    assert select_subtitle(high, W, H, PPOCRSelectConfig(region_top=0.3)).text == "比較高的字幕"
    off = [centred("偏右的字幕", 620, dx=200)]
    assert select_subtitle(off, W, H).text == ""
    assert select_subtitle(off, W, H, PPOCRSelectConfig(centre_tolerance=0.2)).text == "偏右的字幕"


def test_join_lines_modes():
    assert join_lines(["我們先把行李放好，", "再出去吃飯。"]) == "我們先把行李放好，再出去吃飯。"
    assert join_lines(["今天去 7-11", "買咖啡"]) == "今天去 7-11買咖啡"
    assert join_lines(["I love", "Taipei"]) == "I love Taipei"
    assert join_lines(["一", "二"], "space") == "一 二"


def test_tidy_text_punctuation_and_script():
    assert tidy_text("好啊,我們走吧!") == "好啊，我們走吧！"
    assert tidy_text("真的嗎?") == "真的嗎？"
    assert tidy_text("價格是 3.5 元") == "價格是 3.5 元"
    assert tidy_text("ＯＫ，１２３") == "OK，123"
    assert tidy_text("你好 ， 再見") == "你好，再見"
    assert tidy_text("結束了.") == "結束了。"
    # Simplified-only characters are converted in context; already Traditional text is left alone.
    assert fix_simplified("头发") == "頭髮"
    assert fix_simplified("这个问题发生了") == "這個問題發生了"
    for trad in ("台灣的干擾", "我了解周末的行程", "聯繫公里皇后", "我們先把行李放好，再出去吃飯。"):
        assert fix_simplified(trad) == trad
    assert fix_simplified("台湾") == "台灣"  # 台 is valid Traditional and stays
    assert tidy_text("头发", to_traditional=False) == "头发"


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


def test_coerce_options_types_and_errors():
    vals, rest = coerce_options(PPOCRSelectConfig, {"region_top": "0.6", "max_lines": 1, "require_cjk": "false",
                                                    "line_join": "space", "threads": 2})
    assert vals == {"region_top": 0.6, "max_lines": 1, "require_cjk": False, "line_join": "space"}
    assert rest == {"threads": 2}
    with pytest.raises(ValueError, match="max_lines"):
        coerce_options(PPOCRSelectConfig, {"max_lines": 1.5})
    with pytest.raises(ValueError, match="line_join"):
        coerce_options(PPOCRSelectConfig, {"line_join": "comma"})
    with pytest.raises(ValueError, match="region_top"):
        PPOCRSelectConfig(region_top=0.9, region_bottom=0.5).validate()


def test_quad_to_rect():
    assert quad_to_rect([[209, 608], [1031, 605], [1031, 680], [209, 682]]) == (209, 605, 1031, 682)


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
    from subtitle_vlm.engines.ppocr.rules import colour_quality
    from subtitle_vlm.engines.ppocr.rules import looks_like_subtitle_colors as ok

    cfg = PPOCRSelectConfig()
    white_on_sky = measure_box(_draw((252, 252, 252), (10, 10, 10), (170, 200, 235)), (0, 0, 300, 60))
    assert white_on_sky.fill_luma > 240 and white_on_sky.border_fraction == 0 and ok(white_on_sky, cfg)
    white_on_dark = measure_box(_draw((250, 250, 250), (0, 0, 0), (40, 50, 30), outline=False), (0, 0, 300, 60))
    yellow = measure_box(_draw((250, 225, 30), (0, 0, 0), (60, 60, 60)), (0, 0, 300, 60))
    assert yellow.is_yellowish and ok(yellow, cfg) and ok(white_on_dark, cfg)
    for sub in (white_on_sky, white_on_dark, yellow):
        assert colour_quality(sub) > 0.9
    # Red letters are no subtitle fill at all.
    red = measure_box(_draw((210, 30, 30), (0, 0, 0), (30, 30, 30), outline=False), (0, 0, 300, 60))
    assert not ok(red, cfg)
    # Dark letters on a light plate: the "fill" is the plate, which covers the border band.
    plate = measure_box(_draw((20, 20, 20), (20, 20, 20), (235, 235, 235), outline=False), (0, 0, 300, 60))
    assert plate.border_fraction > 0.9 and colour_quality(plate) < 0.6
    assert measure_box(np.zeros((10, 10, 3), np.uint8), (0, 0, 2, 2)) is None


def test_marks_left_out_by_the_detector_are_restored_where_the_frame_shows_ink():
    left = Detection((300, 610, 560, 686), "春節連假", 0.99, SUB)
    right = Detection((640, 610, 980, 686), "交通部提醒", 0.99, SUB)
    seen = []

    def probe(region, fill, h, within=False):  # ink in the gap between the parts and after the line
        seen.append(region)
        return True

    sel = select_subtitle([left, right], W, H, probe=probe)
    assert sel.text == "春節連假，交通部提醒。"
    assert seen[0][0] < 560 < 640 <= seen[0][2] and seen[1][0] < 980 < seen[1][2]
    # An empty gap stays a space and nothing is added after the line.
    assert select_subtitle([left, right], W, H, probe=lambda *a, **k: False).text == "春節連假 交通部提醒"
    # Switched off, or nothing to look at: the recogniser's text as it is.
    assert select_subtitle([left, right], W, H, PPOCRSelectConfig(restore_marks=False), probe=probe).text \
        == "春節連假 交通部提醒"
    # Upper lines of a two-line subtitle end with ，, the last with 。; a line ending in a mark gets none.
    upper, lower = centred("我們先把行李放好", 535, width=620), centred("再出去吃飯", 620, width=400)
    assert select_subtitle([upper, lower], W, H, probe=probe).text == "我們先把行李放好，再出去吃飯。"
    assert select_subtitle([centred("真的嗎？", 620, width=300)], W, H, probe=probe).text == "真的嗎？"


def test_mark_ink_finds_a_ringed_blob_but_not_background():
    from subtitle_vlm.engines.ppocr.colors import mark_ink

    img = np.full((100, 100, 3), 90, np.uint8)
    img[60:76, 20:36] = 0          # outline ...
    img[63:73, 23:33] = 250        # ... around a small white mark
    assert mark_ink(img, (10, 20, 60, 95), (250, 250, 250), 75)
    assert not mark_ink(img, (50, 20, 100, 95), (250, 250, 250), 75)       # nothing there
    img[:, 60:] = 250                                                       # white sky reaching the edges
    assert not mark_ink(img, (55, 20, 100, 95), (250, 250, 250), 75)


def test_scene_word_below_the_subtitle_is_not_its_second_line():
    sub = centred("走累了，來吃一碗剉冰消暑", 527, h=75, width=652, dx=-27)
    below_offset = Detection((582, 581, 740, 645), "五金行", 0.99, SUB)      # overlaps the line above
    sel = select_subtitle([sub, below_offset], W, H)
    assert sel.text == "走累了，來吃一碗剉冰消暑"
    off_axis = Detection((640, 630, 820, 690), "牛肉麵", 0.99, SUB)         # under it, but off its axis
    assert select_subtitle([sub, off_axis], W, H).text == "走累了，來吃一碗剉冰消暑"


def test_a_short_centred_word_alone_is_not_a_subtitle():
    sel = select_subtitle([centred("郵局", 600, width=120, colors=PLATE, score=0.99)], W, H,
                          PPOCRSelectConfig(check_colors=True))
    assert sel.text == ""
    assert "not subtitle-like enough" in sel.rejected[0][1]
