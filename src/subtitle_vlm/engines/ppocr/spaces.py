"""Spaces PP-OCR reads out of one box: 喂 你到了沒？ comes back as 喂你到了沒？.

Subtitles that run two phrases together put a space between them instead of a comma. The recogniser
drops it when both phrases sit in one detection box, but the letters show it: Chinese characters are set
on a fixed pitch, so the empty columns between two glyphs are about the same all along a line, and a
space (a quarter to a third of a character wide in the usual fonts) makes one gap that much wider than
the others. Narrow glyphs (日, 了, 自) leave gaps nearly as wide, so the rule is cautious: on the
development frames it found 16 of the 30 spaces inside single boxes and put 3 where there were none
(625 lines); on frames it was not tuned on, 7 of 17 and none wrongly.

Only lines made of Chinese characters and full-width marks qualify (Latin letters and digits are set on
their own narrower pitch), and only when every character's cell holds letter ink (a line half over a
light background, whose letters the ink mask cannot see, has gaps that are not gaps).
"""

from __future__ import annotations

import numpy as np

from subtitle_vlm.engines.ppocr.text import is_cjk

# A gap this wide (in character pitches) and this much wider than the line's median gap is a space.
SPACE_GAP = 0.29
SPACE_EXCESS = 0.2
# Every character's cell must have letter ink in at least this fraction of its columns.
CELL_INK = 0.3
# A gap whose centre is further than this (in pitches) from a character boundary is inside a glyph.
BOUNDARY = 0.3
_FULL_WIDTH_MARKS = set("，。、！？：；「」『』（）…")


def space_positions(columns: np.ndarray, text: str) -> list[int]:
    """Where spaces go in ``text`` (indices to insert at, ascending), given ``columns``: one bool per
    pixel column of the line's box, True where it holds letter ink. [] when the line does not qualify."""
    text = text.strip()
    n = len(text)
    if n < 3 or any(c.isspace() for c in text):
        return []
    if not all(is_cjk(c) or c in _FULL_WIDTH_MARKS for c in text):
        return []
    xs = np.flatnonzero(columns)
    if len(xs) < 2 * n:
        return []
    a, b = int(xs[0]), int(xs[-1])
    inner = np.asarray(columns[a:b + 1], bool)
    pitch = len(inner) / n
    for j, c in enumerate(text):
        cell = inner[int(j * pitch):max(int(j * pitch) + 1, int((j + 1) * pitch))]
        if is_cjk(c) and cell.mean() < CELL_INK:
            return []
    # Empty runs inside the line, each placed on the character boundary nearest its centre.
    edges = np.flatnonzero(np.diff(np.concatenate(([1], inner.astype(np.int8), [1]))))
    gaps = []
    for start, stop in zip(edges[::2], edges[1::2]):
        at = (start + stop) / 2 / pitch
        j = int(round(at))
        # Near a cell's middle it is a gap inside one glyph (亻|門), not between two.
        if 1 <= j < n and abs(at - j) <= BOUNDARY and is_cjk(text[j - 1]) and is_cjk(text[j]):
            gaps.append((j, (stop - start) / pitch))
    if len(gaps) < 3:
        return []
    median = float(np.median([g for _, g in gaps]))
    return sorted({j for j, g in gaps if g >= SPACE_GAP and g - median >= SPACE_EXCESS})


def insert_spaces(text: str, positions: list[int]) -> str:
    text = text.strip()
    for j in sorted(positions, reverse=True):
        text = text[:j] + " " + text[j:]
    return text
