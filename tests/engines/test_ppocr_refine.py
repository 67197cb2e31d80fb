"""The second look at subtitle lines (trim scene text, re-read, restore commas) on drawn arrays, and the
text fixes for variant forms and look-alike kana. No OCR model: re-reading is a stand-in that records
what it was asked."""

import dataclasses

import numpy as np

from subtitle_vlm.engines.ppocr.colors import comma_marks, ink_clusters, ink_mask, measure_box
from subtitle_vlm.engines.ppocr.refine import (comma_position, could_be_subtitle, refine_detections,
                                               restore_commas, trim_span)
from subtitle_vlm.engines.ppocr.rules import Detection, PPOCRSelectConfig, Row, line_text
from subtitle_vlm.engines.ppocr.text import fix_lookalikes, fix_variants, tidy_text

W, H = 1280, 720
TOP, BOTTOM = 600, 676          # the line's box; glyphs are drawn 613..663
WHITE, BLUE = (252, 252, 252), (60, 150, 230)


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


def _comma(img, x):
    _glyph(img, x, w=8, y0=645, y1=659)


def test_measure_box_prefers_the_letters_to_a_sliver_of_other_colour():
    img = _frame((150, 130, 110))
    end = _line(img, 400, 8)
    img[615:622, end + 20:end + 60] = (250, 190, 80)      # a thin orange plate edge inside the box
    colors = measure_box(img, (380, TOP, end + 80, BOTTOM))
    assert max(abs(a - b) for a, b in zip(colors.fill_rgb, WHITE)) <= 10


def test_ink_mask_keeps_the_fill_beside_a_dark_edge_only():
    img = _frame()
    _line(img, 400, 3)                                     # glyphs 400..446, 460..506, 520..566
    _line(img, 700, 2, fill=BLUE)                          # scene lettering in another colour
    img[600:676, 880:1020] = 200
    img[605:670, 905:995] = 250                            # a light patch on a light surround: no dark edge
    mask = ink_mask(img, (380, TOP, 1100, BOTTOM), WHITE)
    runs = [(a + 380, b + 380) for a, b, _ in ink_clusters(mask, BOTTOM - TOP)]
    assert runs == [(400, 446), (460, 506), (520, 566)]
    # Joined across small gaps, the three glyphs are one run.
    assert [(a + 380, b + 380) for a, b, _ in ink_clusters(mask, BOTTOM - TOP, join=0.2)] == [(400, 566)]
    # Without the edge test every pixel of the colour counts.
    assert ink_mask(img, (380, TOP, 1100, BOTTOM), WHITE, need_edge=False)[5:70, 905 - 380:995 - 380].all()


def test_trim_span_cuts_what_lies_past_the_glyphs_and_what_hangs_off_centre():
    h = BOTTOM - TOP
    box = (300, TOP, 1100, BOTTOM)
    glyphs = [(300 + 15, 900, 5000)]
    lo, hi = trim_span(box, glyphs, W)
    assert lo == 300 and hi == 900 + 0.6 * h
    # Letters everywhere, but the box reaches 200 px further right of the midline than left of it.
    lo, hi = trim_span((400, TOP, 1080, BOTTOM), [(410, 1070, 9000)], W)
    assert lo == 400 and abs(hi - (640 + 240 + 0.3 * h)) < 1e-6
    # A centred box that fits its glyphs is left alone; so is one that does not reach the midline.
    assert trim_span((340, TOP, 940, BOTTOM), [(355, 925, 9000)], W) is None
    assert trim_span((20, TOP, 600, BOTTOM), [(30, 590, 9000)], W) is None


def _reread_stub(answers):
    seen = []

    def reread(rect):
        seen.append(rect)
        return answers(rect)

    return reread, seen


def test_scene_text_in_the_subtitle_box_is_trimmed_and_read_again():
    img = _frame()
    end = _line(img, 400, 8)                               # subtitle: 400..866
    _line(img, 940, 3, step=56, fill=BLUE)                 # a blue scene word after it, in the same box
    box = (385, TOP, 1130, BOTTOM)
    det = Detection(box, "我們走吧明天見各位MENU", 0.95, measure_box(img, box))
    cfg = PPOCRSelectConfig()
    assert could_be_subtitle(det, W, H, cfg)
    reread, seen = _reread_stub(lambda rect: ("我們走吧明天見各位", 0.99))
    out = refine_detections([det], img, cfg, reread)[0]
    assert out.text == "我們走吧明天見各位" and out.score == 0.99
    assert len(seen) == 1 and seen[0][0] == 385 and end < seen[0][2] < 940
    assert out.box == seen[0] and out.ink == (400, end)
    # A second reading with low confidence does not replace the first.
    reread, _ = _reread_stub(lambda rect: ("我們", 0.5))
    assert refine_detections([det], img, cfg, reread)[0].text == det.text
    # Switched off in the engine's config: choose() never calls refine; here no reread means no trim.
    assert refine_detections([det], img, cfg, None)[0].box == box


def test_light_plate_text_and_lines_far_from_the_middle_get_no_second_look():
    img = _frame()
    cfg = PPOCRSelectConfig()
    img[600:676, 500:800] = 245                              # dark letters on a light plate
    img[613:663, 520:560] = 20
    plate = Detection((500, TOP, 800, BOTTOM), "牛肉麵", 0.99, measure_box(img, (500, TOP, 800, BOTTOM)))
    assert not could_be_subtitle(plate, W, H, cfg)
    high = Detection((400, 100, 880, 176), "美食大探索", 0.99, plate.colors)
    assert not could_be_subtitle(high, W, H, cfg)


def test_comma_marks_find_a_low_small_blob_with_its_cell_empty():
    img = _frame()
    _line(img, 400, 4)                                      # 400..626
    _comma(img, 632)
    _line(img, 700, 3)                                      # the next glyph starts 60 px after the comma
    mask = ink_mask(img, (380, TOP, 900, BOTTOM), WHITE)
    assert [(a + 380, b + 380) for a, b in comma_marks(mask, BOTTOM - TOP)] == [(632, 640)]
    # A flat stroke across the middle (the character 一) is no comma ...
    img2 = _frame()
    _line(img2, 400, 4)
    _glyph(img2, 634, w=44, y0=634, y1=640)
    _line(img2, 700, 3)
    assert comma_marks(ink_mask(img2, (380, TOP, 900, BOTTOM), WHITE), BOTTOM - TOP) == []
    # ... nor is a dot close to the rest of its glyph (the left dot of 小).
    img3 = _frame()
    _line(img3, 400, 4)
    _comma(img3, 640)
    _line(img3, 656, 3)
    assert comma_marks(ink_mask(img3, (380, TOP, 900, BOTTOM), WHITE), BOTTOM - TOP) == []


def test_restore_commas_reads_back_the_position_or_estimates_it():
    det = Detection((385, TOP, 900, BOTTOM), "他的夢想是成為", 0.99, None)
    runs = [(400, 626, 9000), (700, 866, 6000)]             # 4 glyphs, a comma cell, 3 glyphs (8 cells)
    reread, seen = _reread_stub(lambda rect: ("他的夢想", 0.99))
    assert restore_commas(det, runs, [(632, 640)], reread) == "他的夢想，是成為"
    assert seen[0][2] == 632
    # Without a re-reading that agrees, the character widths place it.
    assert restore_commas(det, runs, [(632, 640)], None) == "他的夢想，是成為"
    assert restore_commas(det, runs, [(632, 640)], lambda rect: ("他們", 0.9)) == "他的夢想，是成為"
    # Already read (a mark where the ink is): nothing added.
    det2 = Detection(det.box, "他的夢想，是成為", 0.99, None)
    assert restore_commas(det2, runs, [(632, 640)], None) == "他的夢想，是成為"
    assert restore_commas(det, runs, [], None) == "他的夢想是成為"


def test_comma_position_estimate():
    # 6 CJK characters + the comma's cell over 700 px: 100 px per cell; a comma cell at 300 follows 3.
    assert comma_position("一二三四五六", (0, 700), (300, 320)) == 3
    assert comma_position("一二三四五六", (0, 700), (350, 360)) is None        # between two boundaries
    assert comma_position("ABC四五六", (0, 700), (165, 175)) is None           # Latin beside it: unsure


def test_end_mark_is_searched_from_the_last_glyph_inside_the_box():
    det = Detection((385, TOP, 900, BOTTOM), "這是命令", 0.99, measure_box(_frame(), (385, TOP, 900, BOTTOM)),
                    ink=(400, 800))
    seen = []

    def probe(region, fill, h, within=False):
        seen.append(region)
        return True

    assert line_text(Row([det]), probe) == "這是命令。"
    assert seen[0][0] < 810 and seen[0][2] > 900


def test_variant_forms_become_the_taiwan_standard():
    assert fix_variants("乾凈的房間") == "乾淨的房間"
    assert fix_variants("他着急了，衆人都在裏面") == "他著急了，眾人都在裡面"
    assert fix_variants("台灣的珍珠奶茶，了解") == "台灣的珍珠奶茶，了解"    # standard forms stay
    assert tidy_text("這裏很乾凈") == "這裡很乾淨"
    assert tidy_text("這裏很乾凈", to_traditional=False) == "這裏很乾凈"


def test_lookalike_kana_among_chinese_become_chinese():
    assert fix_lookalikes("ー二ニー！") == "一二二一！"
    assert fix_lookalikes("對不起，ロ袋破了") == "對不起，口袋破了"
    assert fix_lookalikes("カラオケ") == "カラオケ"                    # real Japanese stays
    assert fix_lookalikes("ーー") == "ーー"                            # nothing Chinese beside them
    assert fix_lookalikes("ーニー，ニー！") == "一二一，二一！"        # two different look-alikes, no other kana


def test_a_tall_box_is_cut_to_the_subtitle_rows_and_read_again():
    from subtitle_vlm.engines.ppocr.refine import letter_band, vertical_trim

    img = _frame()
    for x in range(400, 860, 20):                           # subtitle strokes on rows 613..663
        _glyph(img, x, w=6)
    img[520:600, 420:860] = (40, 140, 60)                   # a green sign above it, in the same box ...
    for x in range(440, 840, 90):
        img[540:580, x:x + 4] = WHITE                       # ... with thin light lettering
    box = (385, 515, 880, BOTTOM)                           # 161 px: too tall for one line
    det = Detection(box, "車亭我們走吧明天見各位", 0.9, measure_box(img, box))
    cfg = PPOCRSelectConfig()
    assert det.height > cfg.max_height * H and not could_be_subtitle(det, W, H, cfg)
    rect = vertical_trim(img, det, cfg)
    assert rect is not None and rect[0] == 385 and rect[2] == 880
    assert 600 <= rect[1] <= 613 and 663 <= rect[3] <= 676
    reread, seen = _reread_stub(lambda r: ("我們走吧明天見各位", 0.97))
    out = refine_detections([det], img, cfg, reread)[0]
    assert out.text == "我們走吧明天見各位" and seen[0] == rect and out.box[1] == rect[1]
    # A box of ordinary height, or a band of letters too thin to be a line, is left alone.
    assert vertical_trim(img, Detection((385, TOP, 880, BOTTOM), "x", 0.9, det.colors), cfg) is None
    thin = np.zeros((160, 400), bool)
    thin[80:84] = True
    assert letter_band(thin, 20, 120) is None
    thin[100:150] = True
    assert letter_band(thin, 20, 120) == (100, 150)


def test_end_mark_shape_tells_exclamation_and_question_from_full_stop():
    from subtitle_vlm.engines.ppocr.colors import mark_ink

    def framed(draw):
        img = np.full((100, 120, 3), 90, np.uint8)
        for y0, y1, x0, x1 in draw:                         # each stroke outlined in black
            img[y0 - 3:y1 + 3, x0 - 3:x1 + 3] = 0
        for y0, y1, x0, x1 in draw:
            img[y0:y1, x0:x1] = 250
        return mark_ink(img, (5, 5, 115, 95), (250, 250, 250), 80)

    assert framed([(66, 78, 40, 52)]) == "。"                            # small and low
    assert framed([(25, 55, 50, 58), (62, 70, 50, 58)]) == "！"          # thin stroke, dot below
    assert framed([(25, 55, 45, 72), (62, 70, 55, 63)]) == "？"          # wide stroke, dot below
    assert framed([(25, 62, 50, 58)]) == "。"                            # a tall stroke without its dot
    # The selection writes what the probe saw, on any line.
    det = Detection((385, TOP, 900, BOTTOM), "快回答", 0.99, measure_box(_frame(), (385, TOP, 900, BOTTOM)))
    assert line_text(Row([det]), lambda region, fill, h, within=False: "！", last=False) == "快回答！"
    assert line_text(Row([det]), lambda region, fill, h, within=False: "。", last=False) == "快回答，"


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


def test_a_line_too_tall_to_stack_with_its_partner_is_cut_to_its_letters():
    from subtitle_vlm.engines.ppocr.refine import odd_partner
    from subtitle_vlm.engines.ppocr.rules import select_subtitle

    img = _frame()
    for x in range(420, 860, 20):                           # upper line: strokes on rows 500..550
        _glyph(img, x, w=6, y0=500, y1=550)
    for x in range(440, 840, 20):                           # lower line: strokes on rows 583..633
        _glyph(img, x, w=6, y0=583, y1=633)
    img[642:690, 430:850] = (40, 140, 60)                   # a green sign just below, read into its box
    for x in range(450, 830, 60):
        img[650:682, x:x + 4] = WHITE
    upper_box, lower_box = (405, 487, 875, 563), (425, 570, 855, 692)
    upper = Detection(upper_box, "我們先把行李放好", 0.99, measure_box(img, upper_box))
    lower = Detection(lower_box, "再出去吃飯車亭", 0.95, measure_box(img, lower_box))
    cfg = PPOCRSelectConfig()
    assert odd_partner(upper, lower, cfg) is lower and odd_partner(lower, upper, cfg) is lower
    # Without the cut the two lines do not stack and only one is read.
    assert select_subtitle([upper, lower], W, H, cfg).text in ("我們先把行李放好", "再出去吃飯車亭")
    reread, seen = _reread_stub(lambda r: ("再出去吃飯", 0.98) if r[1] > 560 else None)
    out = refine_detections([upper, lower], img, cfg, reread)
    cut = out[1]
    assert cut.text == "再出去吃飯" and 570 <= cut.box[1] <= 583 and 633 <= cut.box[3] <= 645
    assert select_subtitle(out, W, H, cfg).text == "我們先把行李放好再出去吃飯"
    # Lines of one height, or far apart, are no such pair.
    assert odd_partner(upper, dataclasses.replace(lower, box=(425, 570, 855, 646)), cfg) is None
    assert odd_partner(upper, dataclasses.replace(lower, box=(425, 650, 855, 772)), cfg) is None
