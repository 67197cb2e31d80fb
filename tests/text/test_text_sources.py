"""Sentence sources (txt, TSV, built-in), BOM, non-UTF-8, and prepare_sentences (convert, dedupe, lengths)."""

import pytest

from subtitle_vlm.io import InputError
from subtitle_vlm.text.sources import load_sentences, prepare_sentences


def _write(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_txt_one_sentence_a_line_skips_blanks_and_comments(tmp_path):
    p = _write(tmp_path, "s.txt", "# comment\n你好。\n\n  \n  再見！  \r\n# another\n最後一行".encode())
    assert load_sentences(p) == ["你好。", "再見！", "最後一行"]


def test_tsv_takes_the_sentence_column(tmp_path):
    p = _write(tmp_path, "labels.tsv", "image_1.jpg\t我在7-11門口等你。\nimage_2.jpg\t好 我知道了\n".encode())
    assert load_sentences(p) == ["我在7-11門口等你。", "好 我知道了"]


def test_a_second_tab_in_a_tsv_line_is_an_error_naming_the_line(tmp_path):
    # A TAB inside a sentence would be drawn as a missing-glyph box and would split labels.tsv.
    p = _write(tmp_path, "x.tsv", "a.jpg\t好\nb.jpg\t前半\t後半\n".encode())
    with pytest.raises(InputError, match=r"x\.tsv:2: .*second TAB"):
        load_sentences(p)


def test_control_characters_are_an_error_naming_the_line(tmp_path):
    p = _write(tmp_path, "c.txt", "好\n\x00\x01壞\n".encode())
    with pytest.raises(InputError, match=r"c\.txt:2: .*U\+0000"):
        load_sentences(p)


def test_utf16_file_is_named_as_such(tmp_path):
    p = _write(tmp_path, "u16.txt", "第一句\n".encode("utf-16"))
    with pytest.raises(InputError, match=r"u16\.txt:1: not UTF-8.*UTF-16.*iconv -f UTF-16"):
        load_sentences(p)


def test_a_folder_given_as_sentence_file_says_so(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        load_sentences(tmp_path)


def test_tsv_line_without_tab_names_the_line(tmp_path):
    p = _write(tmp_path, "bad.tsv", "a.jpg\t好\nno tab here\n".encode())
    with pytest.raises(InputError, match=r"bad\.tsv:2:.*name<TAB>sentence"):
        load_sentences(p)


def test_utf8_bom_is_dropped(tmp_path):
    p = _write(tmp_path, "bom.txt", b"\xef\xbb\xbf" + "第一句\n第二句\n".encode())
    got = load_sentences(p)
    assert got == ["第一句", "第二句"]
    assert not got[0].startswith("\ufeff")


def test_bom_before_a_comment_still_skips_it(tmp_path):
    p = _write(tmp_path, "bomc.txt", b"\xef\xbb\xbf" + "# header\n句子\n".encode())
    assert load_sentences(p) == ["句子"]


def test_non_utf8_file_names_the_line(tmp_path):
    big5 = "第一句\n".encode() + "第二句".encode("big5") + b"\n"
    p = _write(tmp_path, "big5.txt", big5)
    with pytest.raises(InputError) as e:
        load_sentences(p)
    msg = str(e.value)
    assert "big5.txt:2:" in msg and "UTF-8" in msg


def test_missing_file_says_what_to_pass(tmp_path):
    with pytest.raises(InputError, match="--sentences"):
        load_sentences(tmp_path / "nope.txt")


def test_none_loads_the_builtin_corpus():
    got = load_sentences(None)
    assert len(got) >= 400 and all(not s.startswith("#") and s for s in got)


def test_prepare_dedupes_in_order_and_counts():
    r = prepare_sentences(["甲乙", "丙丁", "甲乙", "戊己", "丙丁"])
    assert r.sentences == ["甲乙", "丙丁", "戊己"]
    assert r.dropped == {"duplicate": 2}


def test_prepare_keeps_duplicates_when_asked():
    assert prepare_sentences(["好", "好"], dedupe=False).sentences == ["好", "好"]


def test_prepare_length_filter_is_inclusive():
    r = prepare_sentences(["一", "一二", "一二三四", "一二三四五"], min_len=2, max_len=4)
    assert r.sentences == ["一二", "一二三四"]
    assert r.dropped == {"too_short": 1, "too_long": 1}


def test_prepare_converts_simplified_with_s2twp_before_dedupe():
    r = prepare_sentences(["我们坐出租车去软件公司", "我們坐計程車去軟體公司"], convert="s2twp")
    assert r.sentences == ["我們坐計程車去軟體公司"]
    assert r.dropped == {"duplicate": 1}


def test_prepare_unknown_conversion_is_explained():
    with pytest.raises(ValueError, match="s2twp"):
        prepare_sentences(["好"], convert="no_such_config")
