"""Each normalisation profile does what normalize.py documents, and each includes the one before it."""

import pytest

from subtitle_vlm.text.normalize import PROFILES, normalize


def test_profiles_in_documented_order():
    assert PROFILES == ("none", "width", "punct", "script")


def test_none_is_identity_and_none_is_empty():
    s = "  ＯＫ，好　的  "
    assert normalize(s, "none") == s
    assert normalize(None, "none") == ""
    assert normalize(None, "script") == ""


@pytest.mark.parametrize("raw, want", [
    ("ＯＫ１２３", "OK123"),               # full-width Latin and digits fold to half-width
    ("ＭＲＴ　站", "MRT 站"),               # ideographic space -> space
    ("  前  \t 後\n ", "前 後"),             # whitespace runs collapse, ends trimmed
    ("好…", "好..."),                      # NFKC folds the ellipsis
    ("你好，世界！", "你好,世界!"),          # NFKC folds full-width comma/exclamation
    ("「引號」、頓號。", "「引號」、頓號。"),  # marks NFKC leaves alone stay for the punct profile
    ("臺灣", "臺灣"),                       # no script folding yet
])
def test_width_profile(raw, want):
    assert normalize(raw, "width") == want


@pytest.mark.parametrize("raw, want", [
    ("「引號」", '"引號"'),
    ("『雙』", '"雙"'),
    ("甲、乙。", "甲,乙."),
    ("等等——好", "等等--好"),
    ("《書名》", "<書名>"),
    ("我 ， 你 ！", "我,你!"),              # spaces next to punctuation dropped
    ("好 的", "好 的"),                      # spaces between words kept
    ("Wi - Fi", "Wi-Fi"),
    ("“quoted”", '"quoted"'),
])
def test_punct_profile(raw, want):
    assert normalize(raw, "punct") == want


def test_punct_makes_full_and_half_width_marks_equal():
    assert normalize("你好，世界！「真的」", "punct") == normalize('你好, 世界! "真的"', "punct")


def test_script_folds_traditional_and_simplified():
    assert normalize("這碗牛肉麵", "script") == normalize("这碗牛肉面", "script")
    assert normalize("台灣", "script") == normalize("臺灣", "script")
    assert normalize("這碗牛肉麵", "punct") != normalize("这碗牛肉面", "punct")


def test_each_profile_includes_the_one_before():
    samples = ["ＯＫ，這是「測試」　 123…", "  臺灣、台灣 ——  Wi-Fi ", "我傳LINE給你，你怎麼都沒回？"]
    for s in samples:
        w = normalize(s, "width")
        p = normalize(s, "punct")
        assert normalize(w, "punct") == p
        assert normalize(p, "script") == normalize(s, "script")
        assert normalize(w, "width") == w  # idempotent


def test_unknown_profile_lists_choices():
    with pytest.raises(ValueError, match="none, width, punct, script"):
        normalize("x", "loose")
