"""Distractor text the label excludes: a station logo in a top corner, a coloured title near the top, a
headline caption across the top or at the side. None overlaps the subtitle (or, in a frame without one, the bottom-centre band
where it would be), so the label stays "the bottom-centre subtitle only".

A distractor is a record dict: ``{"kind", "text", "font", "font_size", "fill", "opacity", "stroke_width",
"stroke_fill", "lines", "line_xy", "box", "bbox"}``; ``draw_distractor`` draws one.
"""

from __future__ import annotations

import numpy as np
from PIL import ImageDraw

from subtitle_vlm.synth.effects import draw_box, draw_text_masked
from subtitle_vlm.synth.fonts import load_font
from subtitle_vlm.synth.layout import Box, block_bbox, draw_block, ink_bbox, intersects, text_width

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


CANDIDATES = 6  # spots drawn per item up front; the first clear one is used
# Each kind draws from a generator of its own: np.random.default_rng([frame seed, STREAMS[kind]]).
STREAMS = {"logo": 13, "title": 14, "caption": 15}


def _make(rng, kind: str, assets, W: int, H: int, avoid: list[Box]) -> dict | None:
    """One logo, title or caption clear of ``avoid``. Every random number is drawn before anything is
    measured or placed, so what else the frame holds changes only which of the spots is taken."""
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
    size = max(6, size)
    stroke = int(rng.integers(0, max(1, int(4 * scale)) + 1)) if kind != "logo" else 0
    margin = int(rng.integers(int(0.02 * W), int(0.05 * W) + 1))
    cands = rng.random((CANDIDATES, 3))
    with_box = rng.random() < (0.4 if kind != "caption" else 0.3)
    box_color = _color(rng)
    box_alpha = float(round(rng.uniform(0.5, 0.9), 3))
    font_rng = np.random.default_rng(rng.integers(1 << 62))
    if not text.strip():
        return None
    font_ref = pick_font(font_rng, assets, text)
    if font_ref is None:
        return None
    font = load_font(font_ref["path"], font_ref["index"], size, font_ref["weight"])
    stroke_fill = [0, 0, 0] if sum(fill) > 300 else [255, 255, 255]
    tw = text_width(font, text)
    for u, v, w in cands:
        if kind == "logo":  # a top corner
            x = margin if u < 0.5 else W - margin - tw
            y = 0.02 * H + v * 0.05 * H
        elif kind == "title":  # near the top, centred or flush left
            x = (W - tw) / 2 if u < 0.5 else margin
            y = 0.03 * H + v * 0.22 * H
        elif w < 0.4:  # a headline caption across the top
            x = margin if u < 0.6 else (W - tw) / 2
            y = 0.02 * H + v * 0.12 * H
        else:  # a caption at the side
            x = margin if u < 0.5 else W - margin - tw
            y = 0.15 * H + v * 0.47 * H
        xy = [int(round(max(0, x))), int(y)]
        bbox = block_bbox(font, [text], [xy], 0, stroke)
        if bbox is None or bbox[2] > W or bbox[3] > H or any(intersects(bbox, a, int(8 * scale)) for a in avoid):
            continue
        box = None
        if with_box:
            pad = int(round(size * 0.25))
            box = {"rect": [bbox[0] - pad, bbox[1] - pad, bbox[2] + pad, bbox[3] + pad],
                   "color": box_color if sum(fill) > 300 else [235, 235, 235], "alpha": box_alpha}
            if any(intersects(tuple(box["rect"]), a) for a in avoid):
                box = None
        return {"kind": kind, "text": text, "font": font_ref, "font_size": size, "fill": fill,
                "opacity": opacity, "stroke_width": stroke, "stroke_fill": stroke_fill,
                "lines": [text], "line_xy": [xy], "box": box, "bbox": list(bbox)}
    return None


def sample_overlay(rng, kind: str, assets, p: float, W: int, H: int, avoid: list[Box]) -> dict | None:
    """One ``kind`` item with probability ``p``, from ``rng`` (the kind's own stream)."""
    if not rng.random() < p:
        return None
    return _make(rng, kind, assets, W, H, avoid)


def sample_distractors(rng, assets, params, W: int, H: int, protect: Box) -> list[dict]:
    """Logo, title and caption from one generator, each with its probability; each avoids ``protect`` and
    the ones before it (synth-video's timeline; frames give each kind its own stream)."""
    out: list[dict] = []
    avoid = [tuple(protect)]
    for kind, p in (("logo", params.p_logo), ("title", params.p_title), ("caption", params.p_caption)):
        d = sample_overlay(rng, kind, assets, p, W, H, avoid)
        if d is not None:
            out.append(d)
            avoid.append(overlay_extent(d))
    return out


def overlay_extent(d: dict) -> Box:
    """What an item covers: its box when it has one, else its ink."""
    return tuple(d["box"]["rect"]) if d.get("box") else tuple(d["bbox"])


def distractor_elements(d: dict, W: int, H: int) -> list[dict]:
    font = load_font(d["font"]["path"], int(d["font"]["index"]), int(d["font_size"]), d["font"].get("weight"))
    out = []
    for i, (text, xy) in enumerate(zip(d["lines"], d["line_xy"])):
        box = ink_bbox(font, tuple(xy), text, 0, int(d.get("stroke_width", 0)))
        if box is None:
            continue
        box = [max(0, box[0]), max(0, box[1]), min(W, box[2]), min(H, box[3])]
        if box[2] > box[0] and box[3] > box[1]:
            out.append({"role": d["kind"], "text": text.strip(), "box": box, "font": d["font"]["name"], "line": i})
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
