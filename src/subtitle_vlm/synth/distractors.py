"""Distractor text the label excludes: a station logo in a top corner, a coloured title near the top, a
caption at the side. None overlaps the subtitle (or, in a frame without one, the bottom-centre band
where it would be), so the label stays "the bottom-centre subtitle only".

A distractor is a record dict: ``{"kind", "text", "font", "font_size", "fill", "opacity", "stroke_width",
"stroke_fill", "lines", "line_xy", "box", "bbox"}``; ``draw_distractor`` draws one.
"""

from __future__ import annotations

import numpy as np
from PIL import ImageDraw

from subtitle_vlm.synth.effects import draw_box, draw_text_masked
from subtitle_vlm.synth.fonts import load_font
from subtitle_vlm.synth.layout import Box, block_bbox, draw_block, intersects, text_width

# Made-up channel marks and programme titles (none is a real station's mark).
LOGO_TEXTS = ("晨光台", "綜合台", "新聞台", "美食頻道", "旅遊台", "LIVE", "HD", "重播", "直播", "TV8",
              "第一台", "影劇台", "生活台", "午間新聞")
TITLE_TEXTS = ("美食大探索", "寶島漫遊記", "軍營日記", "週末旅行團", "新聞快報", "第12集", "夜市人生",
               "山城小旅行", "獨家報導", "今日焦點", "老街尋味", "下集預告")
PALETTE = ((255, 215, 0), (255, 140, 0), (0, 220, 255), (230, 40, 40), (60, 220, 90), (255, 105, 180),
           (150, 200, 255), (255, 255, 255), (20, 20, 20), (255, 240, 120))


def _color(rng) -> list[int]:
    return [int(v) for v in PALETTE[int(rng.integers(len(PALETTE)))]]


def pick_font(rng, assets, text: str) -> dict | None:
    """A font covering ``text``, at a random weight where it has several, as a record's font ref."""
    cover = assets.fonts_covering(text)
    if not cover:
        return None
    info = assets.fonts[cover[int(rng.integers(len(cover)))]]
    weight = None
    if info.weight_range:
        weight = int(np.clip(int(rng.choice([400, 500, 700, 900])), *info.weight_range))
    return {"path": info.path, "index": info.index, "name": info.name, "weight": weight}


def _snippet(rng, assets, lo: int, hi: int) -> str:
    s = assets.sentences[int(rng.integers(len(assets.sentences)))].replace(" ", "")
    n = int(rng.integers(lo, hi + 1))
    return s[:n]


def _make(rng, kind: str, assets, W: int, H: int, avoid: list[Box]) -> dict | None:
    scale = H / 720
    if kind == "logo":
        text = LOGO_TEXTS[int(rng.integers(len(LOGO_TEXTS)))]
        size = int(rng.integers(int(22 * scale), int(40 * scale) + 1))
        fill = [255, 255, 255] if rng.random() < 0.6 else _color(rng)
        opacity = float(round(rng.uniform(0.45, 0.9), 3))
    elif kind == "title":
        text = TITLE_TEXTS[int(rng.integers(len(TITLE_TEXTS)))] if rng.random() < 0.5 else _snippet(rng, assets, 4, 10)
        size = int(rng.integers(int(34 * scale), int(60 * scale) + 1))
        fill, opacity = _color(rng), 1.0
    else:
        text = _snippet(rng, assets, 5, 14)
        size = int(rng.integers(int(24 * scale), int(44 * scale) + 1))
        fill, opacity = _color(rng), 1.0
    if not text.strip():
        return None
    font_ref = pick_font(rng, assets, text)
    if font_ref is None:
        return None
    font = load_font(font_ref["path"], font_ref["index"], size, font_ref["weight"])
    stroke = int(rng.integers(0, max(1, int(4 * scale)) + 1)) if kind != "logo" else 0
    stroke_fill = [0, 0, 0] if sum(fill) > 300 else [255, 255, 255]
    tw = text_width(font, text)
    margin = int(rng.integers(int(0.02 * W), int(0.05 * W) + 1))
    for _ in range(6):  # a few tries to land clear of the subtitle
        if kind == "logo":
            x = margin if rng.random() < 0.5 else W - margin - tw
            y = int(rng.integers(int(0.02 * H), int(0.07 * H) + 1))
        elif kind == "title":
            x = (W - tw) / 2 if rng.random() < 0.5 else margin
            y = int(rng.integers(int(0.03 * H), int(0.25 * H) + 1))
        else:
            x = margin if rng.random() < 0.5 else W - margin - tw
            y = int(rng.integers(int(0.15 * H), int(0.62 * H) + 1))
        xy = [int(round(max(0, x))), y]
        bbox = block_bbox(font, [text], [xy], 0, stroke)
        if bbox is None or bbox[2] > W or bbox[3] > H or any(intersects(bbox, a, int(8 * scale)) for a in avoid):
            continue
        box = None
        if rng.random() < (0.4 if kind != "caption" else 0.3):
            pad = int(round(size * 0.25))
            box = {"rect": [bbox[0] - pad, bbox[1] - pad, bbox[2] + pad, bbox[3] + pad],
                   "color": _color(rng) if sum(fill) > 300 else [235, 235, 235],
                   "alpha": float(round(rng.uniform(0.5, 0.9), 3))}
            if any(intersects(tuple(box["rect"]), a) for a in avoid):
                box = None
        return {"kind": kind, "text": text, "font": font_ref, "font_size": size, "fill": fill,
                "opacity": opacity, "stroke_width": stroke, "stroke_fill": stroke_fill,
                "lines": [text], "line_xy": [xy], "box": box, "bbox": list(bbox)}
    return None


def sample_distractors(rng, assets, params, W: int, H: int, protect: Box) -> list[dict]:
    """Logo, title and caption, each with its probability; each avoids the subtitle and the ones before it."""
    out: list[dict] = []
    avoid = [tuple(protect)]
    for kind, p in (("logo", params.p_logo), ("title", params.p_title), ("caption", params.p_caption)):
        if rng.random() < p:
            d = _make(rng, kind, assets, W, H, avoid)
            if d is not None:
                out.append(d)
                avoid.append(tuple(d["box"]["rect"]) if d["box"] else tuple(d["bbox"]))
    return out


def draw_distractor(img, d: dict) -> None:
    font = load_font(d["font"]["path"], int(d["font"]["index"]), int(d["font_size"]), d["font"].get("weight"))
    if d.get("box"):
        draw_box(img, tuple(d["box"]["rect"]), d["box"]["color"], d["box"]["alpha"])
    if float(d.get("opacity", 1.0)) < 1.0:
        draw_text_masked(img, tuple(d["bbox"]), d["lines"], d["line_xy"], font, d["fill"],
                         stroke_width=int(d["stroke_width"]), opacity=float(d["opacity"]))
        return
    draw_block(ImageDraw.Draw(img), d["lines"], d["line_xy"], font, tuple(d["fill"]),
               stroke_width=int(d["stroke_width"]), stroke_fill=tuple(d["stroke_fill"]))
