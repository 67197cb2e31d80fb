"""OpenCC conversion: s2twp gives Taiwan characters and phrases; t2s folds back."""

from subtitle_vlm.text.convert import DEFAULT_CONVERSION, convert, to_simplified, to_traditional


def test_default_is_s2twp():
    assert DEFAULT_CONVERSION == "s2twp"


def test_s2twp_converts_characters_and_taiwan_phrases():
    assert to_traditional("这个软件的信息") == "這個軟體的資訊"
    assert to_traditional("骑自行车去看视频") == "騎腳踏車去看影片"
    assert convert("头发", "s2t") == "頭髮"


def test_s2twp_leaves_taiwan_text_and_latin_alone():
    s = "我傳LINE給你，在7-11門口等。"
    assert to_traditional(s) == s


def test_t2s_folds_traditional_to_simplified():
    assert to_simplified("這碗牛肉麵真好吃！") == "这碗牛肉面真好吃！"


def test_converters_are_cached():
    from subtitle_vlm.text import convert as mod

    mod._converter.cache_clear()
    convert("測試", "t2s")
    convert("測試", "t2s")
    info = mod._converter.cache_info()
    assert info.misses == 1 and info.hits == 1
