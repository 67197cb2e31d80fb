"""OpenCC conversion between Chinese scripts (cached converters; OpenCC builds are not free)."""

from __future__ import annotations

from functools import lru_cache

from subtitle_vlm.io import InputError

# Common choices: s2twp (Simplified -> Taiwan Traditional with Taiwan phrases), s2t, t2s, tw2s.
DEFAULT_CONVERSION = "s2twp"


@lru_cache(maxsize=8)
def _converter(config: str):
    import opencc

    name = config if config.endswith(".json") else f"{config}.json"
    try:
        return opencc.OpenCC(name)
    except Exception as e:  # opencc raises a bare RuntimeError/ValueError depending on version
        raise InputError(f"unknown OpenCC conversion {config!r} ({e}); try s2twp, s2t, t2s or tw2s") from None


def convert(text: str, config: str = DEFAULT_CONVERSION) -> str:
    return _converter(config).convert(text)


def to_traditional(text: str) -> str:
    return convert(text, "s2twp")


def to_simplified(text: str) -> str:
    return convert(text, "t2s")
