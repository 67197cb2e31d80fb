"""Wrap a long subtitle into at most two lines the way TV subtitles break: at a space or punctuation
near the middle, else at the middle character, never letting a line run past ``max_chars`` when some
break keeps both lines within it."""

from __future__ import annotations

BREAK_AFTER = frozenset("，,、。！？!?；;：:… ")
# Marks that must not open a line (they close the phrase before them) ...
NO_LINE_START = frozenset("，,、。．.！？!?；;：:」』）)》〉…%")
# ... and marks that must not end one (they open the phrase after them).
NO_LINE_END = frozenset("「『（(《〈")
# Our bonus for breaking at a natural point, in characters of distance from the middle.
NATURAL_BONUS = 3.0


def _is_word_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c in "-.%'")


def _split_at(text: str, i: int) -> tuple[str, str]:
    return text[:i].rstrip(), text[i:].lstrip()


def _cost(text: str, i: int, max_chars: int) -> tuple[int, int, float]:
    left, right = _split_at(text, i)
    overflow = max(0, len(left) - max_chars) + max(0, len(right) - max_chars)
    # A break inside "7-11", "Wi-Fi" or "2030", before a closing mark or after an opening one reads badly.
    awkward = int(_is_word_char(text[i - 1]) and _is_word_char(text[i])) \
        + int(right[0] in NO_LINE_START) + int(left[-1] in NO_LINE_END)
    natural = text[i - 1] in BREAK_AFTER or text[i] == " "
    imbalance = abs(len(left) - len(right)) / 2 - (NATURAL_BONUS if natural else 0.0)
    return overflow, awkward, imbalance


def wrap_two_lines(text: str, max_chars: int) -> list[str]:
    """Return ``[text]`` if it fits in ``max_chars``, else two lines.

    The break is chosen, in order of priority: so that neither line exceeds ``max_chars`` (whenever
    ``len(text)`` allows it); not inside a Latin word or number, not before a closing mark (``，。！？」``)
    and not after an opening one (``「``); then as close to the middle as possible, with a bonus of
    ``NATURAL_BONUS`` characters for breaking after punctuation or at a space. A space at the break is
    dropped; punctuation stays at the end of the first line. Text longer than ``2 * max_chars`` still gives
    two lines (as balanced as possible); callers that cannot show that should drop the sentence.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    text = text.strip()
    if len(text) <= max_chars:
        return [text]
    best_i, best_cost = None, None
    for i in range(1, len(text)):
        cost = _cost(text, i, max_chars)
        if best_cost is None or cost < best_cost:
            best_i, best_cost = i, cost
    # text is stripped and longer than one character, so every i gives two non-empty lines
    return list(_split_at(text, best_i))
