"""The built-in zh-TW corpus: size, lengths, uniqueness, registers, digits, Latin, punctuation, script."""

import re
from collections import Counter

import pytest

from subtitle_vlm.text.sources import BUILTIN_CORPUS, load_sentences

REGISTERS = ("dialogue", "narration", "food_travel", "military", "news")
FULL_WIDTH_PUNCT = set("，。！？、「」…：")
# Characters OpenCC's s2t rewrites when they stand alone, yet which are the standard Taiwan form in the
# words we use them in (台北, 不准, 吃, 床, 一群, 濃郁, 阿里山).
SHARED_WITH_SIMPLIFIED = set("台准吃床群郁里")


def _sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in BUILTIN_CORPUS.read_text(encoding="utf-8").splitlines():
        m = re.match(r"#\s*register:\s*(\w+)", line)
        if m:
            current = m.group(1)
            sections.setdefault(current, [])
        elif line.strip() and not line.startswith("#"):
            assert current is not None, f"sentence before any '# register:' heading: {line!r}"
            sections[current].append(line)
    return sections


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return load_sentences(None)


def test_corpus_is_large_and_unique(corpus):
    assert len(corpus) >= 400
    dupes = [s for s, n in Counter(corpus).items() if n > 1]
    assert not dupes


def test_corpus_lengths_between_4_and_24(corpus):
    bad = [s for s in corpus if not 4 <= len(s) <= 24]
    assert not bad


def test_corpus_keeps_its_header_comment():
    first = BUILTIN_CORPUS.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# Built-in corpus")


def test_every_register_is_covered():
    sections = _sections()
    assert set(REGISTERS) <= set(sections)
    for name in REGISTERS:
        assert len(sections[name]) >= 60, name
    assert sum(map(len, sections.values())) == len(load_sentences(None))


def test_corpus_has_digits_latin_and_spaced_phrases(corpus):
    assert sum(bool(re.search(r"[0-9]", s)) for s in corpus) >= 40
    latin = [s for s in corpus if re.search(r"[A-Za-z]", s)]
    assert len(latin) >= 15
    words = {w for s in latin for w in re.findall(r"[A-Za-z][A-Za-z0-9.\-]*", s)}
    assert {"OK", "GPS", "MRT", "LINE", "NBA"} <= words
    assert any("7-11" in s for s in corpus)
    assert sum(" " in s for s in corpus) >= 8  # half-width spaces between phrases, as TV subtitles do


def test_corpus_uses_full_width_punctuation_only(corpus):
    used = Counter(c for s in corpus for c in s if c in FULL_WIDTH_PUNCT)
    for mark in "，。！？、「」…":
        assert used[mark] > 0, mark
    # ASCII punctuation only inside Latin tokens (7-11, Wi-Fi, PM2.5, 3.5%), never as CJK sentence marks
    for s in corpus:
        assert not re.search(r"[,!?;:]", s), s
        assert not re.search(r"(?<![0-9A-Za-z])[.\-]|[.\-](?![0-9A-Za-z])", s), s


def test_corpus_has_no_simplified_characters(corpus):
    from subtitle_vlm.text.convert import convert

    chars = sorted({c for s in corpus for c in s})
    simplified = [c for c in chars if convert(c, "s2t") != c and c not in SHARED_WITH_SIMPLIFIED]
    assert not simplified


def test_shared_characters_really_are_traditional():
    # The allowance above must not hide Simplified-only forms: t2s leaves each of them as it is.
    from subtitle_vlm.text.convert import convert

    assert all(convert(c, "t2s") == c for c in SHARED_WITH_SIMPLIFIED)
    assert convert("这", "s2t") != "这"  # and the check above does catch a Simplified character
