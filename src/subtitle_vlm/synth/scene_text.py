"""Text that is part of the scene: shop signs, Latin fragments, lettering on walls and shirts, posters.

Real frames are photographs with text in them, and a subtitle reader has to leave that text out. Scene
text is painted into the background before anything else is drawn, so logos, titles and the subtitle sit
on top of it, and the degradations blur it with the rest of the picture. It goes where a photograph
would have it: anywhere in the frame (a sign may sit just above, below or beside the subtitle), but never
through the subtitle's ink, so the label stays the subtitle alone. None of it has the subtitle's look
(light fill inside a dark outline): signs are lettering on plates, plain lettering has no outline.

An item is a record dict: ``{"kind", "lines", "font", "font_size", "line_xy", "fill", "plate", "angle",
"blur", "bbox"}`` (``plate`` None or ``{"rect", "color"}``; ``bbox`` covers the plate, before rotation);
``draw_scene_text`` paints one and ``scene_elements`` gives its lines' ink boxes (as tilted and blurred). Items draw from the frame's own scene-text generator, so turning scene
text on or off leaves every other choice of a frame as it was.
"""

from __future__ import annotations

import math

from PIL import Image, ImageDraw, ImageFilter

from subtitle_vlm.synth.distractors import pick_font
from subtitle_vlm.synth.effects import clip_box
from subtitle_vlm.synth.fonts import load_font
from subtitle_vlm.synth.layout import Box, block_bbox, draw_block, ink_bbox, intersects, line_height, text_width

# Made-up shop and street words (no real business's name).
SIGN_WORDS = ("便利商店", "牛肉麵", "停車場", "出口", "藥局", "早餐店", "旅館", "咖啡", "書店", "銀行", "郵局",
              "小吃部", "滷肉飯", "珍珠奶茶", "水果行", "理髮廳", "五金行", "診所", "麵包店", "火鍋", "全面特價",
              "營業中", "禁止停車", "請勿吸菸", "安全出口", "電影院", "夜市入口", "公車站", "補習班", "冷氣開放",
              "豆花", "修理手機", "眼鏡行", "排骨便當", "洗衣店", "自助餐", "租屋", "里民活動中心")
LATIN_WORDS = ("EXIT", "OPEN", "SALE 50%", "CAFE", "NO PARKING", "HOTEL", "TAXI", "BUS STOP", "FRESH", "No.12",
               "BAR", "PHARMACY", "WiFi", "STOP", "BAKERY", "24H", "ATM", "MENU", "PUSH", "LIVE MUSIC")
PLATES = ((240, 238, 230), (250, 250, 250), (200, 30, 35), (20, 60, 150), (20, 110, 60), (250, 200, 20),
          (30, 30, 30), (240, 120, 20))
PLAIN_COLORS = ((250, 250, 250), (240, 230, 60), (230, 40, 40), (30, 30, 30), (60, 200, 255))
KINDS = ("sign", "sign", "latin", "plain", "poster")
STREAM = 3  # this component's generator: np.random.default_rng([frame seed, STREAM])
MAX_ITEMS = 3


def ink_on(plate) -> list[int]:
    """Lettering colour for a plate: dark on light plates, white or pale yellow on dark ones."""
    luma = 0.299 * plate[0] + 0.587 * plate[1] + 0.114 * plate[2]
    if luma > 150:
        return [20, 20, 20] if sum(plate) > 600 else [150, 20, 20]
    return [250, 250, 250] if luma < 90 else [255, 240, 120]


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def _sample_item(rng, assets, W: int, H: int, avoid: list[Box]) -> dict | None:
    kind = str(_pick(rng, KINDS))
    if kind == "latin":
        lines = [str(_pick(rng, LATIN_WORDS))]
        size = int(rng.integers(int(0.035 * H), int(0.12 * H) + 1))
    elif kind == "poster":
        lines = [str(_pick(rng, SIGN_WORDS)) + str(_pick(rng, SIGN_WORDS)) for _ in range(int(rng.integers(2, 4)))]
        size = int(rng.integers(int(0.025 * H), int(0.05 * H) + 1))
    else:
        lines = [str(_pick(rng, SIGN_WORDS))]
        size = int(rng.integers(int(0.035 * H), int(0.12 * H) + 1))
    size = max(8, size)
    font_ref = pick_font(rng, assets, "".join(lines))
    if font_ref is None:
        return None
    font = load_font(font_ref["path"], font_ref["index"], size, font_ref["weight"])
    pitch = line_height(font) + int(round(size * 0.3))
    tw = max(text_width(font, ln) for ln in lines)
    th = pitch * (len(lines) - 1) + line_height(font)
    plate = None
    if kind != "plain" and rng.random() < 0.8:
        plate = [int(v) for v in _pick(rng, PLATES)]
        fill = ink_on(plate)
    else:  # lettering straight on the scene: any colour, no outline
        fill = [int(v) for v in _pick(rng, PLAIN_COLORS)]
    pad = int(size * 0.35)
    angle = float(round(rng.uniform(-8, 8), 2)) if rng.random() < 0.5 else 0.0
    blur = float(round(rng.uniform(0.3, 1.2), 2)) if rng.random() < 0.4 else 0.0
    for _ in range(6):  # a few tries to keep clear of the subtitle's ink
        cx, cy = rng.uniform(0.08, 0.92) * W, rng.uniform(0.08, 0.95) * H
        x0, y0 = int(cx - tw / 2), int(cy - th / 2)
        line_xy = [[x0, y0 + i * pitch] for i in range(len(lines))]
        ink = block_bbox(font, lines, line_xy)
        if ink is None:
            return None
        rect = [ink[0] - pad, ink[1] - pad, ink[2] + pad, ink[3] + pad]
        # A tilted item reaches past its box by up to half its diagonal times sin(angle).
        half_diagonal = math.hypot(rect[2] - rect[0], rect[3] - rect[1]) / 2
        reach = int(math.ceil(half_diagonal * math.sin(math.radians(abs(angle)))))
        outer = (rect[0] - reach, rect[1] - reach, rect[2] + reach, rect[3] + reach)
        # Wholly inside the frame, so the element's text is what shows (a sign cut by the edge would list
        # letters nobody sees).
        inside = outer[0] >= 0 and outer[1] >= 0 and outer[2] <= W and outer[3] <= H
        if not inside or any(intersects(outer, a) for a in avoid):
            continue
        return {"kind": kind, "lines": lines, "font": font_ref, "font_size": size, "line_xy": line_xy, "fill": fill,
                "plate": {"rect": rect, "color": plate} if plate else None,
                "angle": angle, "blur": blur, "bbox": [int(v) for v in outer]}
    return None


def sample_scene_text(rng, assets, params, W: int, H: int, protect: Box | None, avoid=()) -> list[dict]:
    """With probability ``params.p_scene_text``, 1 to MAX_ITEMS items clear of ``protect`` (the subtitle's ink)
    and of the boxes in ``avoid`` (what is drawn over the scene: ticker, logos, tags)."""
    if not rng.random() < params.p_scene_text:
        return []
    avoid = ([tuple(protect)] if protect else []) + [tuple(a) for a in avoid]
    out = []
    for _ in range(int(rng.integers(1, MAX_ITEMS + 1))):
        item = _sample_item(rng, assets, W, H, avoid)
        if item is not None:
            out.append(item)
    return out


def draw_scene_text(img: Image.Image, item: dict) -> None:
    """Paint one item into ``img`` (RGB), working on the item's own region only."""
    region = clip_box(tuple(item["bbox"]), img.size)
    if region is None:
        return
    rx, ry = region[0], region[1]
    layer = Image.new("RGBA", (region[2] - rx, region[3] - ry), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    if item.get("plate"):
        x0, y0, x1, y1 = item["plate"]["rect"]
        d.rectangle((x0 - rx, y0 - ry, x1 - rx, y1 - ry), fill=tuple(item["plate"]["color"]) + (255,))
    f = item["font"]
    font = load_font(f["path"], int(f["index"]), int(item["font_size"]), f.get("weight"))
    draw_block(d, item["lines"], item["line_xy"], font, tuple(item["fill"]) + (255,), offset=(-rx, -ry))
    if item.get("angle"):
        b = item["plate"]["rect"] if item.get("plate") else item["bbox"]
        centre = ((b[0] + b[2]) / 2 - rx, (b[1] + b[3]) / 2 - ry)
        layer = layer.rotate(float(item["angle"]), resample=Image.Resampling.BICUBIC, center=centre)
    if item.get("blur"):
        layer = layer.filter(ImageFilter.GaussianBlur(float(item["blur"])))
    base = img.crop(region).convert("RGBA")
    base.alpha_composite(layer)
    img.paste(base.convert("RGB"), region[:2])


def scene_elements(item: dict, W: int, H: int) -> list[dict]:
    """One element per line: its ink box turned with the item (about the plate's centre, as drawn) and
    grown by the blur's reach, clipped to the item's region and the frame."""
    f = item["font"]
    font = load_font(f["path"], int(f["index"]), int(item["font_size"]), f.get("weight"))
    b = item["plate"]["rect"] if item.get("plate") else item["bbox"]
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    a = math.radians(float(item.get("angle") or 0.0))
    ca, sa = math.cos(a), math.sin(a)
    grow = 1 + int(math.ceil(3 * float(item.get("blur") or 0.0))) + (1 if a else 0)
    region = clip_box(tuple(item["bbox"]), (W, H))
    out = []
    for i, (text, xy) in enumerate(zip(item["lines"], item["line_xy"])):
        box = ink_bbox(font, tuple(xy), text)
        if box is None or region is None:
            continue
        if a:  # PIL turns counter-clockwise: (dx, dy) -> (dx cos + dy sin, -dx sin + dy cos), y pointing down
            pts = [(x - cx, y - cy) for x in (box[0], box[2]) for y in (box[1], box[3])]
            xs = [cx + dx * ca + dy * sa for dx, dy in pts]
            ys = [cy - dx * sa + dy * ca for dx, dy in pts]
            box = (math.floor(min(xs)), math.floor(min(ys)), math.ceil(max(xs)), math.ceil(max(ys)))
        box = [max(box[0] - grow, region[0]), max(box[1] - grow, region[1]), min(box[2] + grow, region[2]),
               min(box[3] + grow, region[3])]
        if box[2] > box[0] and box[3] > box[1]:
            out.append({"role": "scene", "text": text.strip(), "box": box, "font": f["name"], "line": i})
    return out
