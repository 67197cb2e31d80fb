"""Text conventions: how a corpus sentence's punctuation shows on screen.

- ``taiwan``: Taiwan TV style. Pauses (，、；：) and a full stop inside the line show as a full-width space
  「　」; the final full stop is left off; ！？…, quotes and brackets stay.
- ``punctuated``: the sentence as in the corpus.
- ``none``: no punctuation at all; where a mark separated two phrases a space separates them.

The label of a frame is the text after its convention (what is on screen); the record keeps the corpus
sentence as ``source_text``. A frame's convention is drawn from the generator ``STREAM`` of its own, among
the conventions the run allows, with the weights of ``MIX_WEIGHTS``.
"""

from __future__ import annotations

import re

CONVENTIONS = ("taiwan", "punctuated", "none")
MIX = "mix"
# How often each shows when several are allowed: Taiwan style is what broadcasters do most.
MIX_WEIGHTS = {"taiwan": 0.5, "punctuated": 0.3, "none": 0.2}
STREAM = 16
IDEOGRAPHIC_SPACE = "\u3000"

_PAUSES = "，、；：,;:"
_STOPS = "。．"
_PHRASE_MARKS = _PAUSES + _STOPS + "！？!?…～~—"
_ENCLOSING = "「」『』（）()《》〈〉\"“”‘’"
_ASCII_STOP = re.compile(r"(?<!\d)\.|\.(?!\d)")  # a full stop, not a decimal point


def resolve(names) -> tuple[str, ...]:
    """The concrete conventions a list of option values allows (``mix`` = all of them)."""
    out: list[str] = []
    for n in names:
        for c in (CONVENTIONS if n == MIX else (n,)):
            if c not in out:
                out.append(c)
    return tuple(out)


def sample_convention(rng, allowed: tuple[str, ...]) -> str:
    w = [MIX_WEIGHTS[c] for c in allowed]
    u = rng.random() * sum(w)
    for c, wc in zip(allowed, w):
        u -= wc
        if u < 0:
            return c
    return allowed[-1]


def _tidy(text: str, space: str) -> str:
    """Collapse runs of separators into one and trim them at the ends."""
    text = re.sub(rf"[ {IDEOGRAPHIC_SPACE}]*{re.escape(space)}[ {IDEOGRAPHIC_SPACE}]*", space, text)
    return text.strip(f" {IDEOGRAPHIC_SPACE}")


def apply_convention(text: str, convention: str, space: str = IDEOGRAPHIC_SPACE) -> str:
    """``text`` as shown under ``convention``; ``space`` is the Taiwan-style pause (a font without the
    full-width space gets an ordinary one)."""
    if convention == "punctuated":
        return text
    if convention == "taiwan":
        out = text.rstrip()
        while out and (out[-1] in _STOPS or (out[-1] == "." and not out[-2:-1].isdigit())):
            out = out[:-1].rstrip()
        out = re.sub(r"[。．](?=[」』）)》〉”’])", "", out)  # a stop closing a quote goes with the quote's end
        out = "".join(space if c in _PAUSES + _STOPS else c for c in out)
        out = _ASCII_STOP.sub(space, out)
        return _tidy(out, space)
    if convention == "none":
        out = "".join(" " if c in _PHRASE_MARKS else "" if c in _ENCLOSING else c for c in text)
        out = _ASCII_STOP.sub(" ", out)
        return re.sub(r"\s+", " ", out).strip()
    raise ValueError(f"unknown text convention {convention!r}; choose from {', '.join(CONVENTIONS)} or {MIX}")
