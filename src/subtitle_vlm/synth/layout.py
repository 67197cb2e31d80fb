"""Measuring and drawing lines of text, with optional letter spacing (PIL's basic layout, no raqm needed).

Positions are the left-ascender anchor of each line (PIL's default ``"la"``), in output pixels.
"""

from __future__ import annotations

import weakref

Box = tuple[int, int, int, int]
# Measurements per font object: FreeType loads every glyph again on each getbbox / getlength call (about
# 20 us a character), and a frame measures the same strings many times (fitting, placing, element boxes).
# Entries go with their font object; a font's table is emptied when it grows past _MEASURE_CAP.
_MEASURES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_MEASURE_CAP = 4096


def _measured(font, key, compute):
    table = _MEASURES.get(font)
    if table is None:
        table = _MEASURES[font] = {}
    try:
        return table[key]
    except KeyError:
        if len(table) >= _MEASURE_CAP:
            table.clear()
        value = table[key] = compute()
        return value


def advance(font, text: str) -> float:
    """``font.getlength(text)``, remembered."""
    return _measured(font, ("len", text), lambda: font.getlength(text))


def text_bbox(font, text: str, stroke_width: int = 0):
    """``font.getbbox(text, stroke_width=...)`` at the origin, remembered. PIL widens the bare box by the
    stroke width on every side, so one measurement serves every stroke width."""
    l, t, r, b = _measured(font, ("bbox", text), lambda: font.getbbox(text))
    return l - stroke_width, t - stroke_width, r + stroke_width, b + stroke_width


def text_width(font, text: str, spacing: int = 0) -> float:
    """Advance width of one line; ``spacing`` px are added between characters."""
    if not spacing:
        return advance(font, text)
    return sum(advance(font, c) for c in text) + spacing * max(0, len(text) - 1)


def line_height(font) -> int:
    ascent, descent = font.getmetrics()
    return ascent + descent


def line_bbox(font, xy: tuple[float, float], text: str, spacing: int = 0, stroke_width: int = 0) -> Box | None:
    """Ink box of a line drawn at ``xy`` (stroke included); None for a line without ink."""
    x, y = xy
    if not spacing:
        parts = [(x, text)]
    else:
        parts, cx = [], x
        for c in text:
            parts.append((cx, c))
            cx += advance(font, c) + spacing
    box = None
    for px, s in parts:
        if not s.strip():
            continue
        l, t, r, b = text_bbox(font, s, stroke_width)
        cur = (int(px + l), int(y + t), int(px + r + 0.999), int(y + b + 0.999))
        box = cur if box is None else union(box, cur)
    return box


def glyph_ink(font, c: str, stroke_width: int = 0) -> Box | None:
    """Ink box of one character drawn at (0, 0) (stroke included), None for a blank one."""
    def compute():
        mask, (ox, oy) = font.getmask2(c, stroke_width=stroke_width)
        bb = mask.getbbox()
        return None if bb is None else (ox + bb[0], oy + bb[1], ox + bb[2], oy + bb[3])

    return _measured(font, ("ink", c, stroke_width), compute)


def char_x(font, text: str, x: float, spacing: int = 0) -> list[float]:
    """Left edge (pen position) of every character of a line drawn at ``x``."""
    out, cx = [], x
    for c in text:  # CJK text has no kerning: the advances add up to the line's
        out.append(cx)
        cx += advance(font, c) + spacing
    return out


def ink_bbox(font, xy: tuple[float, float], text: str, spacing: int = 0, stroke_width: int = 0) -> Box | None:
    """Tight ink box of a line drawn at ``xy``: the first and last inked glyphs' own ink horizontally (PIL's
    getbbox runs to the advance there), PIL's ink extent vertically. None for a line without ink."""
    x, y = xy
    inked = [i for i, c in enumerate(text) if c.strip()]
    if not inked:
        return None
    first, last = inked[0], inked[-1]
    box = line_bbox(font, xy, text, spacing, stroke_width)
    # An outline widens the glyph by its width on each side: measure the bare glyph (the stroker is the
    # slow part of rendering) and add it.
    g0, g1 = glyph_ink(font, text[first]), glyph_ink(font, text[last])
    if box is None or g0 is None or g1 is None:
        return box
    if spacing:
        xs = char_x(font, text[: last + 1], x, spacing)
        x_first, x_last = xs[first], xs[last]
    else:
        x_first, x_last = x + advance(font, text[:first]), x + advance(font, text[:last])
    return (max(box[0], int(x_first + g0[0]) - stroke_width), box[1],
            min(box[2], int(x_last + g1[2] + 0.999) + stroke_width), box[3])


def union(a: Box | None, b: Box | None) -> Box | None:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def block_bbox(font, lines: list[str], line_xy: list, spacing: int = 0, stroke_width: int = 0) -> Box | None:
    box = None
    for text, xy in zip(lines, line_xy):
        box = union(box, line_bbox(font, tuple(xy), text, spacing, stroke_width))
    return box


def intersects(a: Box, b: Box, margin: int = 0) -> bool:
    return not (a[2] + margin <= b[0] or b[2] + margin <= a[0] or a[3] + margin <= b[1] or b[3] + margin <= a[1])


def draw_line(draw, xy, text: str, font, fill, spacing: int = 0, stroke_width: int = 0, stroke_fill=None) -> None:
    """Draw one line; PIL strokes with FreeType's stroker in the same call (no 9-offset outline)."""
    kw = {"font": font, "fill": fill}
    if stroke_width:
        kw.update(stroke_width=stroke_width, stroke_fill=stroke_fill)
    x, y = xy
    if not spacing:
        draw.text((x, y), text, **kw)
        return
    for c in text:
        if c.strip():
            draw.text((x, y), c, **kw)
        x += advance(font, c) + spacing


def draw_block(draw, lines: list[str], line_xy: list, font, fill, spacing: int = 0, stroke_width: int = 0,
               stroke_fill=None, offset: tuple[int, int] = (0, 0)) -> None:
    ox, oy = offset
    for text, (x, y) in zip(lines, line_xy):
        draw_line(draw, (x + ox, y + oy), text, font, fill, spacing, stroke_width, stroke_fill)
