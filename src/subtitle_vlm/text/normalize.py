"""Normalisation profiles applied to gold and prediction alike before scoring.

Profiles, each including the one before it:

- ``none``   the competition metric: the strings as written.
- ``width``  Unicode NFKC (full-width Latin/digits -> half-width, compatibility forms folded), whitespace
             runs collapsed to one space and trimmed.
- ``punct``  ``width`` + punctuation unified: NFKC turns ``，`` into ``,``; every comma-, period-, quote- and
             dash-like mark is mapped to one canonical ASCII form, and spaces next to punctuation dropped.
- ``script`` ``punct`` + Traditional/Simplified folding (both sides to Simplified with OpenCC ``t2s``), so
             a reading in the other script is not counted as wrong.
"""

from __future__ import annotations

import re
import unicodedata

PROFILES = ("none", "width", "punct", "script")

# After NFKC most full-width forms are ASCII; these are the marks NFKC leaves alone.
_PUNCT_MAP = {
    "、": ",", "，": ",", "﹐": ",", "､": ",",
    "。": ".", "｡": ".", "．": ".", "…": "...", "⋯": "...",
    "「": '"', "」": '"', "『": '"', "』": '"', "“": '"', "”": '"', "„": '"', "〝": '"', "〞": '"',
    "‘": "'", "’": "'", "‚": "'",
    "—": "-", "–": "-", "―": "-", "－": "-", "‐": "-", "‑": "-", "~": "~", "～": "~", "〜": "~",
    "《": "<", "》": ">", "〈": "<", "〉": ">",
    "·": ".", "・": ".", "•": ".",
    "！": "!", "？": "?", "：": ":", "；": ";", "（": "(", "）": ")",
}
_PUNCT_TABLE = str.maketrans(_PUNCT_MAP)
_WS = re.compile(r"\s+")
_SPACE_AROUND_PUNCT = re.compile(r"\s*([,.!?:;\"'()<>\-~])\s*")


def _width(s: str) -> str:
    s = unicodedata.normalize("NFKC", s)
    return _WS.sub(" ", s).strip()


def _punct(s: str) -> str:
    s = _width(s).translate(_PUNCT_TABLE)
    s = _SPACE_AROUND_PUNCT.sub(r"\1", s)
    return s.strip()


def _script(s: str) -> str:
    from subtitle_vlm.text.convert import to_simplified

    return _punct(to_simplified(s))


_FUNCS = {"none": lambda s: s, "width": _width, "punct": _punct, "script": _script}


def normalize(text: str | None, profile: str = "none") -> str:
    if profile not in _FUNCS:
        raise ValueError(f"unknown normalisation profile {profile!r}; choose one of {', '.join(PROFILES)}")
    return _FUNCS[profile](text or "")
