"""Helpers for the synth tests: the test sentences and a font builder (a font that lacks most glyphs)."""

from __future__ import annotations

from pathlib import Path

SENTENCES = [
    "你今天怎麼這麼早就回來了？",
    "我們先把行李放好，再出去吃飯。",
    "連長，第三排已經全部到齊了！",
    "這碗牛肉麵的湯頭真的很濃郁。",
    "明天下午 3 點在車站見",
    "好",
]


def make_tiny_font(path: Path, chars: str, family: str = "Tiny Test") -> Path:
    """A TrueType font whose only glyphs are boxes for ``chars`` (and space): a font that lacks the rest."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    cps = sorted({ord(c) for c in chars if c != " "})
    names = [".notdef", "space"] + [f"uni{c:04X}" for c in cps]
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({32: "space", **{c: f"uni{c:04X}" for c in cps}})
    glyphs = {}
    for n in names:
        pen = TTGlyphPen(None)
        if n != "space":
            pen.moveTo((100, 0))
            pen.lineTo((100, 700))
            pen.lineTo((900, 700))
            pen.lineTo((900, 0))
            pen.closePath()
        glyphs[n] = pen.glyph()
    fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics({n: (1000, 100) for n in names})
    fb.setupHorizontalHeader(ascent=880, descent=-120)
    fb.setupNameTable({"familyName": family, "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=880, usWinDescent=120)
    fb.setupPost()
    fb.save(str(path))
    return path
