"""``render_record(record, assets=None, background=None) -> PIL.Image``: draw a frame from its record.

Drawing order: background, scene text, ticker, logo / title / caption, tags, subtitle. The record alone
decides the pixels (fonts and backgrounds are named by path/ref inside it); ``assets``
is accepted for symmetry with ``sample_record`` and may be None. ``background`` (any PIL image) replaces
the sampled background - scaled and centre-cropped to the record's size - so a caller can burn the same
subtitle into its own frames (e.g. a moving video background).

``subtitle_bbox(record)`` gives the subtitle's ink box ``(x0, y0, x1, y1)`` in output pixels (stroke
included; ``include_box=True`` widens it to a translucent box), or None for a frame without subtitle.
``save_frame(image, record, path)`` encodes with the record's JPEG quality, atomically.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from subtitle_vlm.io import save_image_atomic
from subtitle_vlm.synth.backgrounds import background_view, fit_background
from subtitle_vlm.synth.distractors import draw_distractor
from subtitle_vlm.synth.effects import degrade, draw_box, draw_text_masked
from subtitle_vlm.synth.fonts import font_for_record
from subtitle_vlm.synth.layout import block_bbox, draw_block
from subtitle_vlm.synth.scene_text import draw_scene_text
from subtitle_vlm.synth.tags import draw_tag
from subtitle_vlm.synth.ticker import draw_ticker


def draw_subtitle(img: Image.Image, sub: dict) -> None:
    font = font_for_record(sub["font"], sub["font_size"])
    lines, line_xy, spacing = sub["lines"], sub["line_xy"], int(sub.get("letter_spacing", 0))
    stroke = int(sub.get("stroke_width", 0))
    if sub.get("box"):
        draw_box(img, tuple(sub["box"]["rect"]), sub["box"]["color"], sub["box"]["alpha"])
    sh = sub.get("shadow")
    if sh:
        dx, dy = sh["offset"]
        blur = float(sh.get("blur", 0.0))
        if blur <= 0 and float(sh.get("opacity", 1.0)) >= 1.0:
            draw_block(ImageDraw.Draw(img), lines, line_xy, font, tuple(sh["color"]), spacing, stroke,
                       tuple(sh["color"]), offset=(dx, dy))
        else:
            x0, y0, x1, y1 = block_bbox(font, lines, line_xy, spacing, stroke) or sub["bbox"]
            pad = int(blur * 3) + 2
            region = (x0 + dx - pad, y0 + dy - pad, x1 + dx + pad, y1 + dy + pad)
            draw_text_masked(img, region, lines, line_xy, font, sh["color"], spacing, stroke,
                             offset=(dx, dy), blur=blur, opacity=float(sh.get("opacity", 1.0)))
    fills = sub.get("line_fills") or [sub["fill"]] * len(lines)  # two speakers: a colour per line
    draw = ImageDraw.Draw(img)
    for text, xy, fill in zip(lines, line_xy, fills):
        draw_block(draw, [text], [xy], font, tuple(fill), spacing, stroke, tuple(sub.get("stroke_fill", (0, 0, 0))))


def render_record(record: dict, assets=None, background: Image.Image | None = None) -> Image.Image:
    W, H = (int(v) for v in record["size"])
    if background is not None:
        img = fit_background(background, W, H)
    else:
        img = background_view(record["background"], W, H)
    for item in record.get("scene_text") or ():
        draw_scene_text(img, item)
    if record.get("ticker"):
        draw_ticker(img, record["ticker"])
    for d in record.get("distractors") or ():
        draw_distractor(img, d)
    for t in record.get("tags") or ():
        draw_tag(img, t)
    if record.get("subtitle"):
        draw_subtitle(img, record["subtitle"])
    return degrade(img, record.get("degradations"), int(record.get("seed", 0)))


def subtitle_bbox(record: dict, include_box: bool = False) -> tuple[int, int, int, int] | None:
    sub = record.get("subtitle")
    if not sub:
        return None
    x0, y0, x1, y1 = sub["bbox"]
    if include_box and sub.get("box"):
        bx0, by0, bx1, by1 = sub["box"]["rect"]
        x0, y0, x1, y1 = min(x0, bx0), min(y0, by0), max(x1, bx1), max(y1, by1)
    W, H = record["size"]
    return (max(0, int(x0)), max(0, int(y0)), min(int(W), int(x1)), min(int(H), int(y1)))


def save_frame(image: Image.Image, record: dict, path: str | Path) -> None:
    path = Path(path)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        q = int((record.get("degradations") or {}).get("jpeg_quality", 95))
        save_image_atomic(image, path, quality=q)
    else:
        save_image_atomic(image, path, compress_level=3)
