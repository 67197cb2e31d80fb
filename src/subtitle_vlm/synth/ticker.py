"""News ticker: a band along the bottom edge with headlines running through it, clipped at its ends.

Taiwan news channels show one most of the day, and a reader that takes the lowest line of text for the
subtitle reads the ticker instead. The band is solid or a vertical gradient in one of several broadcast
colours; its headlines are snippets of the corpus, one to three of them cycling (so a headline often shows
twice), separated by a gap and sometimes a small mark (a drawn shape, not text). A label block in a
contrasting colour (「快訊」, 「最新消息」, ...) may sit at one end; the headlines are clipped where it
begins and at the frame edges, so the first and last headline are usually cut.

A ticker is a record dict:

    {"band": [x0, y0, x1, y1], "color": [r, g, b], "color2": None | [r, g, b] (gradient bottom),
     "font": {...}, "font_size", "fill", "y" (top of the text lines), "clip": [cx0, cx1],
     "headlines": [str, ...], "gap" (px between headlines), "mark": None | {"shape", "color", "size"},
     "phase" (px: how far the loop of headlines has run past the clip's left end),
     "label": None | {"text", "rect", "color", "fill", "font", "font_size", "xy"}}

``ticker_segments`` lays the headlines out from ``phase`` (``scrolled(t, dx)`` moves them, for video);
``ticker_elements`` gives one element per visible run of characters with its ink box; ``draw_ticker``
paints it. The ticker draws from a generator of its own (the frame's seed and ``STREAM``).
"""

from __future__ import annotations

import copy

import numpy as np
from PIL import Image, ImageDraw

from subtitle_vlm.synth.distractors import pick_font
from subtitle_vlm.synth.fonts import font_for_record
from subtitle_vlm.synth.layout import advance, char_x, glyph_ink, line_height, text_bbox

STREAM = 11  # this component's generator: np.random.default_rng([frame seed, STREAM])
# Band colours seen on air: navy, deep blue, red, dark red, black, white, yellow, teal, purple.
BAND_COLORS = ((12, 30, 90), (20, 60, 160), (190, 20, 30), (120, 10, 20), (15, 15, 15), (245, 245, 245),
               (250, 205, 30), (0, 110, 120), (70, 30, 110))
LABEL_COLORS = ((220, 20, 30), (250, 205, 30), (255, 255, 255), (20, 60, 160), (240, 120, 20), (15, 15, 15))
# Made-up label words of the kind channels print on the ticker's block.
LABEL_TEXTS = ("快訊", "最新消息", "即時新聞", "新聞快報", "焦點", "頭條", "LIVE", "天氣", "交通", "重要訊息")
MARKS = ("dot", "square", "diamond", "bar")


def _luma(c) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _contrast(rng, color) -> list[int]:
    """Text colour on ``color``: white or pale yellow on dark bands, black or navy on light ones."""
    if _luma(color) < 140:
        return [255, 255, 255] if rng.random() < 0.75 else [255, 235, 110]
    return [10, 10, 10] if rng.random() < 0.75 else [15, 30, 100]


def _headline(rng, assets) -> str:
    s = assets.sentences[int(rng.integers(len(assets.sentences)))].strip()
    n = int(rng.integers(8, 27))
    return s[:n] if len(s) > n else s


def sample_ticker(rng, assets, params, W: int, H: int) -> dict | None:
    """With probability ``params.p_ticker`` a ticker (None otherwise, or when no font covers the text).
    Every random number is drawn before anything is measured, so the draws do not depend on the fonts."""
    if not rng.random() < params.p_ticker:
        return None
    hb = max(8, int(round(H * rng.uniform(0.055, 0.085))))
    lift = int(round(H * rng.uniform(0.0, 0.025))) if rng.random() < 0.3 else 0
    color = [int(v) for v in BAND_COLORS[int(rng.integers(len(BAND_COLORS)))]]
    color2 = None
    if rng.random() < 0.4:  # a vertical gradient: the bottom edge darker or lighter
        k = rng.uniform(0.45, 0.8) if _luma(color) > 60 else rng.uniform(1.6, 2.6)
        color2 = [int(min(255, max(0, round(v * k + (25 if k > 1 else 0))))) for v in color]
    fill = _contrast(rng, color)
    size = max(6, int(round(hb * rng.uniform(0.55, 0.75))))
    headlines = [_headline(rng, assets) for _ in range(int(rng.integers(1, 4)))]
    gap_em = float(rng.uniform(1.2, 3.0))
    mark = None
    if rng.random() < 0.5:
        mark = {"shape": MARKS[int(rng.integers(len(MARKS)))], "color": [int(v) for v in
                LABEL_COLORS[int(rng.integers(len(LABEL_COLORS)))]], "size": float(round(rng.uniform(0.25, 0.45), 3))}
    phase_frac = float(rng.random())
    with_label = rng.random() < params.p_ticker_label
    label_text = LABEL_TEXTS[int(rng.integers(len(LABEL_TEXTS)))]
    label_right = rng.random() < 0.15
    label_rise = float(rng.uniform(0.0, 0.35)) if rng.random() < 0.5 else 0.0
    label_color = [int(v) for v in LABEL_COLORS[int(rng.integers(len(LABEL_COLORS)))]]
    if sum(abs(a - b) for a, b in zip(label_color, color)) < 200:  # the block must stand out from the band
        label_color = [250, 205, 30] if _luma(color) < 140 else [220, 20, 30]
    label_fill = _contrast(rng, label_color)
    label_font_rng = np.random.default_rng(rng.integers(1 << 62))
    font_rng = np.random.default_rng(rng.integers(1 << 62))

    font_ref = pick_font(font_rng, assets, "".join(headlines))
    if font_ref is None:
        return None
    font = font_for_record(font_ref, size)
    band = [0, H - lift - hb, W, H - lift]
    y = band[1] + int(round((hb - line_height(font)) / 2))
    label = None
    clip = [0, W]
    if with_label:
        lfont_ref = pick_font(label_font_rng, assets, label_text)
        if lfont_ref is not None:
            lsize = max(6, int(round(size * 1.05)))
            lfont = font_for_record(lfont_ref, lsize)
            pad = int(round(lsize * 0.45))
            lw = int(round(advance(lfont, label_text))) + 2 * pad
            rise = int(round(hb * label_rise))
            x0 = W - lw if label_right else 0
            rect = [x0, band[1] - rise, x0 + lw, band[3]]
            ly = rect[1] + int(round((rect[3] - rect[1] - line_height(lfont)) / 2))
            label = {"text": label_text, "rect": rect, "color": label_color, "fill": label_fill,
                     "font": lfont_ref, "font_size": lsize, "xy": [x0 + pad, ly]}
            clip = [0, x0] if label_right else [x0 + lw, W]
    gap = int(round(gap_em * size))
    t = {"band": band, "color": color, "color2": color2, "font": font_ref, "font_size": size, "fill": fill,
         "y": y, "clip": clip, "headlines": headlines, "gap": gap, "mark": mark, "phase": 0, "label": label}
    t["phase"] = int(phase_frac * _period(t))
    return t


def _period(t: dict) -> int:
    """Length in px of one loop of the headlines (each followed by its gap)."""
    font = font_for_record(t["font"], t["font_size"])
    return sum(int(round(advance(font, h))) + int(t["gap"]) for h in t["headlines"])


def scrolled(t: dict, dx: int) -> dict:
    """The ticker ``dx`` px further on (text moves left), as a new record: a scrolling ticker in video."""
    out = copy.deepcopy(t)
    out["phase"] = int((int(t["phase"]) + int(dx)) % max(1, _period(t)))
    return out


def ticker_segments(t: dict) -> list[tuple[int, str]]:
    """(x, headline) of every headline that reaches into the clip, left to right."""
    font = font_for_record(t["font"], t["font_size"])
    cx0, cx1 = t["clip"]
    widths = [int(round(advance(font, h))) for h in t["headlines"]]
    x, k, out = cx0 - int(t["phase"]), 0, []
    n = len(t["headlines"])
    while x < cx1:
        w = widths[k % n]
        if x + w > cx0:
            out.append((x, t["headlines"][k % n]))
        x += w + int(t["gap"])
        k += 1
    return out


def _visible(font, x: int, y: int, text: str, cx0: int, cx1: int, W: int, H: int):
    """The characters of a headline at ``x`` whose advance cell is mostly inside [cx0, cx1), and the ink box
    of everything it draws inside the clip (a cut glyph at an edge counts for the box, not the text).
    Only the two outermost drawn glyphs are rendered to find the ink's ends; the rest is measured."""
    xs = char_x(font, text + " ", x)
    shown = [i for i in range(len(text)) if cx0 <= (xs[i] + xs[i + 1]) / 2 < cx1]
    drawn = [i for i, c in enumerate(text) if c.strip() and xs[i + 1] > cx0 and xs[i] < cx1]
    text_shown = text[shown[0]: shown[-1] + 1].strip() if shown else ""
    if not drawn:
        return text_shown, None
    first, last = drawn[0], drawn[-1]
    g0, g1 = glyph_ink(font, text[first]), glyph_ink(font, text[last])
    _, top, _, bottom = text_bbox(font, text[first: last + 1])
    x0 = xs[first] + (g0[0] if g0 else 0)
    x1 = xs[last] + (g1[2] if g1 else advance(font, text[last]))
    box = (max(int(x0), cx0, 0), max(int(y + top), 0), min(int(x1 + 0.999), cx1, W), min(int(y + bottom + 0.999), H))
    if box[2] <= box[0] or box[3] <= box[1]:
        return text_shown, None
    return text_shown, box


def ticker_elements(t: dict, W: int, H: int) -> list[dict]:
    """One element per headline run visible in the ticker, left to right, then the label's."""
    font = font_for_record(t["font"], t["font_size"])
    cx0, cx1 = t["clip"]
    out = []
    for x, text in ticker_segments(t):
        shown, box = _visible(font, x, int(t["y"]), text, cx0, cx1, W, H)
        if shown and box:
            out.append({"role": "ticker", "text": shown, "box": list(box), "font": t["font"]["name"],
                        "line": len(out)})
    lab = t.get("label")
    if lab:
        lfont = font_for_record(lab["font"], lab["font_size"])
        shown, box = _visible(lfont, lab["xy"][0], lab["xy"][1], lab["text"], 0, W, W, H)
        if shown and box:
            out.append({"role": "ticker", "text": shown, "box": list(box), "font": lab["font"]["name"],
                        "line": len(out)})
    return out


def _band_image(t: dict, w: int, h: int) -> Image.Image:
    if not t.get("color2"):
        return Image.new("RGB", (w, h), tuple(t["color"]))
    a, b = np.array(t["color"], np.float32), np.array(t["color2"], np.float32)
    ramp = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    rows = (a[None, :] * (1 - ramp) + b[None, :] * ramp).round().astype(np.uint8)  # h x 3
    return Image.fromarray(np.ascontiguousarray(np.broadcast_to(rows[:, None, :], (h, w, 3))), "RGB")


def _draw_mark(d: ImageDraw.ImageDraw, mark: dict, cx: float, cy: float, size: int) -> None:
    r = max(1.0, mark["size"] * size / 2)
    col = tuple(mark["color"])
    if mark["shape"] == "dot":
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=col)
    elif mark["shape"] == "square":
        d.rectangle((cx - r, cy - r, cx + r, cy + r), fill=col)
    elif mark["shape"] == "diamond":
        d.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=col)
    else:
        d.rectangle((cx - r / 3, cy - 1.6 * r, cx + r / 3, cy + 1.6 * r), fill=col)


def draw_ticker(img: Image.Image, t: dict) -> None:
    """Paint the band, the headlines clipped to the band's text span, and the label block."""
    W, H = img.size
    x0, y0, x1, y1 = (int(v) for v in t["band"])
    y0c, y1c = max(0, y0), min(H, y1)
    if y1c <= y0c:
        return
    band = _band_image(t, x1 - x0, y1 - y0).crop((0, y0c - y0, x1 - x0, y1c - y0))
    cx0, cx1 = (int(v) for v in t["clip"])
    d = ImageDraw.Draw(band)
    font = font_for_record(t["font"], t["font_size"])
    size = int(t["font_size"])
    mid = int(t["y"]) + line_height(font) / 2 - y0c
    for x, text in ticker_segments(t):
        # the band image is the band's own canvas: shift by its origin; the clip keeps the label's side clear
        d.text((x - x0, int(t["y"]) - y0c), text, font=font, fill=tuple(t["fill"]))
        if t.get("mark"):
            _draw_mark(d, t["mark"], x - x0 + advance(font, text) + int(t["gap"]) / 2, mid, size)
    region = (max(0, cx0), y0c, min(W, cx1), y1c)
    img.paste(band.crop((region[0] - x0, 0, region[2] - x0, y1c - y0c)), region[:2])
    lab = t.get("label")
    if lab:
        lx0, ly0, lx1, ly1 = (int(v) for v in lab["rect"])
        ImageDraw.Draw(img).rectangle((lx0, ly0, lx1 - 1, ly1 - 1), fill=tuple(lab["color"]))
        lfont = font_for_record(lab["font"], lab["font_size"])
        ImageDraw.Draw(img).text(tuple(lab["xy"]), lab["text"], font=lfont, fill=tuple(lab["fill"]))
