"""Cue building from band states: merging, gaps, minimum duration, the reading that represents a cue."""

from __future__ import annotations

from subtitle_vlm.video.cues import State, build_cues


def S(a, b, text, i=None):
    return State(a, b, text, read_index=i)


def test_near_identical_readings_merge_and_the_longest_reading_wins():
    states = [S(0, 1, "", 0), S(1, 1.5, "我們走吧", 1), S(1.5, 3, "我們走吧！", 2), S(3, 3.2, "我們走吧", 3),
              S(3.2, 4, "", 4)]
    cues = build_cues(states, similarity=0.8)
    assert [(c.start, c.end, c.text) for c in cues] == [(1, 3.2, "我們走吧！")]
    assert cues[0].extra["frame_index"] == 2 and cues[0].extra["states"] == 3


def test_different_texts_back_to_back_stay_apart():
    cues = build_cues([S(0, 1, "你好"), S(1, 2, "再見了朋友")], similarity=0.8)
    assert [(c.start, c.end) for c in cues] == [(0, 1), (1, 2)]


def test_similarity_one_merges_identical_strings_only():
    cues = build_cues([S(0, 1, "我們走吧"), S(1, 2, "我們走吧！"), S(2, 3, "我們走吧！")], similarity=1.0,
                      min_duration=0)
    assert [(c.start, c.end, c.text) for c in cues] == [(0, 1, "我們走吧"), (1, 3, "我們走吧！")]


def test_gaps_split_unless_shorter_than_merge_gap():
    states = [S(0, 1, "一樣的話"), S(1, 1.04, ""), S(1.04, 2, "一樣的話"), S(2, 2.5, ""), S(2.5, 3, "一樣的話")]
    cues = build_cues(states, merge_gap=0.1)
    assert [(c.start, c.end) for c in cues] == [(0, 2), (2.5, 3)]


def test_short_cues_are_dropped_and_whitespace_is_tidied():
    cues = build_cues([S(0, 0.1, "閃"), S(0.1, 2, "  兩行\n字幕 ")], min_duration=0.2)
    assert [(c.start, c.text) for c in cues] == [(0.1, "兩行 字幕")]
