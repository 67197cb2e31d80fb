"""Measuring and drawing lines of text, with optional letter spacing (PIL's basic layout, no raqm needed).

Positions are the left-ascender anchor of each line (PIL's default ``"la"``), in output pixels.
"""

from __future__ import annotations

Box = tuple[int, int, int, int]


def text_width(font, text: str, spacing: int = 0) -> float:
    """Advance width of one line; ``spacing`` px are added between characters."""
    if not spacing:
        return font.getlength(text)
    return sum(font.getlength(c) for c in text) + spacing * max(0, len(text) - 1)


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
            cx += font.getlength(c) + spacing
    box = None
    for px, s in parts:
        if not s.strip():
            continue
        l, t, r, b = font.getbbox(s, stroke_width=stroke_width)
        cur = (int(px + l), int(y + t), int(px + r + 0.999), int(y + b + 0.999))
        box = cur if box is None else union(box, cur)
    return box


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
        x += font.getlength(c) + spacing


def draw_block(draw, lines: list[str], line_xy: list, font, fill, spacing: int = 0, stroke_width: int = 0,
               stroke_fill=None, offset: tuple[int, int] = (0, 0)) -> None:
    ox, oy = offset
    for text, (x, y) in zip(lines, line_xy):
        draw_line(draw, (x + ox, y + oy), text, font, fill, spacing, stroke_width, stroke_fill)
