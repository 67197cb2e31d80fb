"""Options of the PP-OCR engine's subtitle choice, and how the chosen lines become one string."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal


@dataclass
class PPOCRSelectConfig:
    selector: str = field(default="default", metadata={
        "help": "which detected lines are the subtitle: \"default\" (the learned selector shipped with the "
                "package) or a folder made by `subtitle-vlm train-selector` (or its selector.json)"})
    max_lines: int = field(default=2, metadata={"help": "most lines one subtitle has"})
    line_join: Literal["auto", "space", "none"] = field(default="auto", metadata={
        "help": "how two subtitle lines are joined: auto (nothing between Chinese characters or after "
                "punctuation, a space between Latin words), space, none"})
    read_end_mark: bool = field(default=True, metadata={
        "help": "read the last line's box again, extended to the right, and keep a final 。！？ the detector's "
                "box cut off when the recogniser reads exactly the same text plus that mark"})
    to_traditional: bool = field(default=True, metadata={
        "help": "turn characters that only exist in Simplified Chinese, and old variant forms, into Taiwan's"})
    fullwidth_punct: bool = field(default=True, metadata={
        "help": "full-width ，？！：； next to Chinese characters, as in our subtitles"})

    def validate(self) -> None:
        if self.selector == "rules":
            raise ValueError("selector: the hand-written rule selector was retired (the learned one beat it on "
                             "every held-out set, docs/selector.md); use \"default\" or a train-selector folder")
        if self.max_lines < 1:
            raise ValueError("max_lines: need at least 1")
        if self.line_join not in ("auto", "space", "none"):
            raise ValueError("line_join: choose auto, space or none")


def join_lines(lines: Sequence[str], mode: str = "auto") -> str:
    """Join subtitle lines top to bottom (a wrapped subtitle's break drops a space only between words)."""
    out = ""
    for line in lines:
        line = line.strip()
        if not out:
            out = line
            continue
        if mode == "space":
            sep = " "
        elif mode == "none":
            sep = ""
        else:
            a, b = out[-1], line[:1]
            sep = " " if (a.isascii() and a.isalnum() and b.isascii() and b.isalnum()) else ""
        out += sep + line
    return out


__all__ = ["PPOCRSelectConfig", "join_lines"]
