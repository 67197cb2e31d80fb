"""Wrap a long subtitle into at most two lines the way TV subtitles break: at a space or punctuation
near the middle, else at the middle character."""

from __future__ import annotations

BREAK_AFTER = set("，,、。！？!?；;：: ")


def wrap_two_lines(text: str, max_chars: int) -> list[str]:
    """Return [text] if it fits in ``max_chars``, else two balanced lines (neither longer than needed).

    A space at the break is dropped; punctuation stays at the end of the first line.
    """
    text = text.strip()
    if len(text) <= max_chars:
        return [text]
    mid = len(text) / 2
    best, best_cost = None, None
    for i in range(1, len(text)):
        left, right = text[:i].rstrip(), text[i:].lstrip()
        if not left or not right:
            continue
        natural = text[i - 1] in BREAK_AFTER
        cost = abs(i - mid) - (3 if natural else 0)
        if best_cost is None or cost < best_cost:
            best, best_cost = (left, right), cost
    assert best is not None
    return list(best)
