"""wrap_two_lines: at most two lines, each within max_chars when possible, breaking at natural points."""

import pytest

from subtitle_vlm.text.sources import load_sentences
from subtitle_vlm.text.wrap import wrap_two_lines


def test_short_text_stays_one_line():
    assert wrap_two_lines("  你好。 ", 10) == ["你好。"]
    assert wrap_two_lines("一二三四五", 5) == ["一二三四五"]


def test_breaks_after_punctuation_near_the_middle():
    assert wrap_two_lines("我們先把行李放好，再出去吃飯。", 10) == ["我們先把行李放好，", "再出去吃飯。"]


def test_breaks_at_a_space_and_drops_it():
    assert wrap_two_lines("整個城市都睡了 只有他還醒著", 10) == ["整個城市都睡了", "只有他還醒著"]


def test_no_natural_point_splits_in_the_middle():
    assert wrap_two_lines("一二三四五六七八九十", 6) == ["一二三四五", "六七八九十"]


def test_never_exceeds_max_chars_when_a_split_allows_it():
    # The comma is near the middle and earns the bonus, but breaking there leaves 13 > 12 characters.
    text = "這是一個很長的句子，後面還有更多更多的字要放好"
    assert len(text) <= 24
    lines = wrap_two_lines(text, 12)
    assert len(lines) == 2 and all(len(line) <= 12 for line in lines)
    assert "".join(lines) == text


def test_every_corpus_line_wraps_within_the_limit():
    for max_chars in (8, 10, 12, 16):
        for s in load_sentences(None):
            lines = wrap_two_lines(s, max_chars)
            assert 1 <= len(lines) <= 2
            assert "".join(lines).replace(" ", "") == s.replace(" ", "")
            if len(s) <= 2 * max_chars:
                assert all(len(line) <= max_chars for line in lines), (s, max_chars, lines)


def test_does_not_split_latin_words_or_numbers():
    assert wrap_two_lines("今天要去7-11買東西吃", 8) == ["今天要去", "7-11買東西吃"]
    lines = wrap_two_lines("這邊有免費的Wi-Fi可以用", 8)
    assert any("Wi-Fi" in line for line in lines)


def test_fitting_beats_keeping_a_word_whole():
    # Every split that keeps both lines within 7 characters falls inside "7-11": fitting wins.
    lines = wrap_two_lines("今天要去7-11買東西吃", 7)
    assert all(len(line) <= 7 for line in lines)


def test_closing_mark_does_not_open_the_second_line():
    for text, n in [("他在日記裡寫下：「我不怕。」", 8), ("我傳LINE給你，你怎麼都沒回？", 9)]:
        first, second = wrap_two_lines(text, n)
        assert second[0] not in "，。！？」、", (first, second)


def test_too_long_for_two_lines_still_gives_two_balanced_lines():
    text = "一二三四五六七八九十一二三四五六七八九十"
    first, second = wrap_two_lines(text, 5)
    assert first + second == text and abs(len(first) - len(second)) <= 1


def test_bad_max_chars():
    with pytest.raises(ValueError):
        wrap_two_lines("你好", 0)
