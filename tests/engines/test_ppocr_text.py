"""Tidying what PP-OCR read into our zh-TW conventions: punctuation, script, variants, look-alike kana."""

from subtitle_vlm.engines.ppocr.text import fix_lookalikes, fix_simplified, fix_variants, tidy_text


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
