"""Lower-third tags: who is speaking, where, who reported it - boxed text at the left or right.

A tag is one or two lines, each on its own plate (the second usually smaller, on another colour), set
flush to the side it sits on, sometimes with an accent strip. The names, places and titles are made up
here from short lists of our own (surnames, given-name characters, generic places and jobs), never copied
from real lists.

A tag is a record dict: ``{"lines", "font", "font_sizes", "line_xy", "fills", "plates" [[x0, y0, x1, y1], ...],
"plate_colors", "accent": None | {"rect", "color"}, "side", "bbox"}``; ``draw_tag`` paints one and
``tag_elements`` gives its lines' ink boxes. Tags draw from a generator of their own (``STREAM``), and pick
their spot from candidates drawn up front, so what else the frame holds changes only which spot is free.
"""

from __future__ import annotations

from PIL import ImageDraw

from subtitle_vlm.synth.distractors import pick_font
from subtitle_vlm.synth.fonts import font_for_record
from subtitle_vlm.synth.layout import Box, advance, ink_bbox, intersects, line_height

STREAM = 12
SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周葉蘇莊呂江何蕭羅高潘簡朱鍾彭游詹胡施沈余盧梁趙顏柯翁魏孫戴"
GIVEN = "志明家豪雅婷怡君俊宏淑芬建華美玲宗翰佳穎冠宇欣怡承恩子晴柏翰思妤文傑秀英國強麗華嘉玲耀廷品妍"
ROLES = ("記者", "主播", "攝影", "採訪", "編輯", "特派員")
JOBS = ("店長", "老闆", "里長", "教授", "醫師", "民眾", "遊客", "農民", "學生", "議員", "發言人", "主廚",
        "消防員", "志工", "館長", "校長", "營長", "排長", "班長", "工程師", "司機", "漁民")
PLACES = ("台北市", "新北市", "桃園市", "台中市", "台南市", "高雄市", "基隆市", "新竹縣", "苗栗縣", "彰化縣",
          "南投縣", "雲林縣", "嘉義縣", "屏東縣", "宜蘭縣", "花蓮縣", "台東縣", "澎湖縣")
SPOTS = ("市場", "車站", "老街", "港口", "夜市", "山區", "海邊", "校園", "營區", "醫院", "公園", "工業區", "商圈")
ORGS = ("餐廳", "麵店", "民宿", "農場", "研究所", "協會", "基金會", "旅行社", "果園", "茶行")
PLATE_COLORS = ((15, 40, 120), (180, 20, 30), (250, 250, 250), (20, 20, 20), (250, 200, 30), (0, 120, 130),
                (60, 60, 70), (240, 120, 20), (30, 90, 200))
CANDIDATES = 8  # spots drawn per tag; the first clear one is used


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def made_up_name(rng) -> str:
    n = 2 if rng.random() < 0.85 else 1
    return _pick(rng, SURNAMES) + "".join(_pick(rng, GIVEN) for _ in range(n))


def tag_lines(rng) -> list[str]:
    """One or two lines: a person with a job, a reporter credit, or a place."""
    kind = int(rng.integers(4))
    two = rng.random() < 0.6
    sep = "　" if rng.random() < 0.5 else " "
    if kind == 0:  # a person: name and job, the job's place on a second line
        first = made_up_name(rng) + sep + _pick(rng, JOBS)
        second = _pick(rng, PLACES)[:-1] + _pick(rng, SPOTS) + _pick(rng, ORGS)
    elif kind == 1:  # a credit: "記者 某某" and the photographer
        first = _pick(rng, ROLES[:2]) + sep + made_up_name(rng)
        second = "攝影" + sep + made_up_name(rng)
    elif kind == 2:  # a place: city and spot
        first = _pick(rng, PLACES) + _pick(rng, SPOTS)
        second = _pick(rng, PLACES)[:2] + _pick(rng, ORGS)
    else:  # a name alone, with an organisation under it
        first = made_up_name(rng)
        second = _pick(rng, PLACES)[:-1] + _pick(rng, ORGS) + _pick(rng, JOBS)
    return [first, second] if two else [first]


def _luma(c) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def sample_tag(rng, assets, W: int, H: int, avoid: list[Box]) -> dict | None:
    """One tag clear of every box in ``avoid`` (None when no candidate spot is free or no font covers it)."""
    scale = H / 720
    lines = tag_lines(rng)
    size0 = max(6, int(round(rng.uniform(26, 38) * scale)))
    sizes = [size0] + [max(6, int(round(size0 * rng.uniform(0.7, 0.9))))] * (len(lines) - 1)
    colors = [[int(v) for v in _pick(rng, PLATE_COLORS)] for _ in lines]
    if len(colors) == 2 and colors[1] == colors[0]:
        colors[1] = [255, 255, 255] if _luma(colors[0]) < 140 else [20, 20, 20]
    fills = [[255, 255, 255] if _luma(c) < 140 else [15, 15, 15] for c in colors]
    pad_x = float(rng.uniform(0.35, 0.8))
    pad_y = float(rng.uniform(0.12, 0.3))
    accent = rng.random() < 0.35
    accent_color = [int(v) for v in _pick(rng, PLATE_COLORS)]
    cands = [(bool(rng.random() < 0.7), float(rng.uniform(0.03, 0.08)), float(rng.uniform(0.5, 0.86)))
             for _ in range(CANDIDATES)]
    font_ref = pick_font(rng, assets, "".join(lines))
    if font_ref is None:
        return None
    fonts = [font_for_record(font_ref, s) for s in sizes]
    widths = [int(round(advance(f, t))) + 2 * int(round(s * pad_x)) for f, t, s in zip(fonts, lines, sizes)]
    heights = [line_height(f) + 2 * int(round(s * pad_y)) for f, s in zip(fonts, sizes)]
    strip = max(2, int(round(sizes[0] * 0.22))) if accent else 0
    total_h = sum(heights)
    for left, margin, bottom in cands:
        mx = int(round(margin * W))
        y1 = int(round(bottom * H))
        y0 = y1 - total_h
        if y0 < 0:
            continue
        plates, line_xy, y = [], [], y0
        for w, h, s, f in zip(widths, heights, sizes, fonts):
            px0 = mx + strip if left else W - mx - w
            plates.append([px0, y, px0 + w, y + h])
            line_xy.append([px0 + int(round(s * pad_x)), y + int(round(s * pad_y))])
            y += h
        x0 = min(p[0] for p in plates) - strip
        x1 = max(p[2] for p in plates) + (strip if not left else 0)
        bbox = [x0, y0, x1, y1]
        if x0 < 0 or x1 > W or any(intersects(tuple(bbox), a, int(6 * scale)) for a in avoid):
            continue
        acc = None
        if accent:
            ax = x0 if left else W - mx
            acc = {"rect": [ax, y0, ax + strip, y1] if left else [W - mx, y0, W - mx + strip, y1],
                   "color": accent_color}
            if not left:
                bbox[2] = max(bbox[2], W - mx + strip)
                if bbox[2] > W or any(intersects(tuple(bbox), a, int(6 * scale)) for a in avoid):
                    continue
        return {"lines": lines, "font": font_ref, "font_sizes": sizes, "line_xy": line_xy, "fills": fills,
                "plates": plates, "plate_colors": colors, "accent": acc, "side": "left" if left else "right",
                "bbox": bbox}
    return None


def sample_tags(rng, assets, params, W: int, H: int, avoid: list[Box]) -> list[dict]:
    """With probability ``params.p_tag`` one tag (a second, on the other side, one time in six)."""
    if not rng.random() < params.p_tag:
        return []
    n = 2 if rng.random() < 1 / 6 else 1
    out: list[dict] = []
    avoid = list(avoid)
    for _ in range(n):
        t = sample_tag(rng, assets, W, H, avoid)
        if t is not None:
            out.append(t)
            avoid.append(tuple(t["bbox"]))
    return out


def tag_elements(tag: dict, W: int, H: int) -> list[dict]:
    out = []
    for i, (text, xy, size) in enumerate(zip(tag["lines"], tag["line_xy"], tag["font_sizes"])):
        box = ink_bbox(font_for_record(tag["font"], size), tuple(xy), text)
        if box is None:
            continue
        box = [max(0, box[0]), max(0, box[1]), min(W, box[2]), min(H, box[3])]
        out.append({"role": "tag", "text": text.strip(), "box": box, "font": tag["font"]["name"], "line": i})
    return out


def draw_tag(img, tag: dict) -> None:
    d = ImageDraw.Draw(img)
    if tag.get("accent"):
        x0, y0, x1, y1 = tag["accent"]["rect"]
        d.rectangle((x0, y0, x1 - 1, y1 - 1), fill=tuple(tag["accent"]["color"]))
    for (x0, y0, x1, y1), color in zip(tag["plates"], tag["plate_colors"]):
        d.rectangle((x0, y0, x1 - 1, y1 - 1), fill=tuple(color))
    for text, xy, size, fill in zip(tag["lines"], tag["line_xy"], tag["font_sizes"], tag["fills"]):
        d.text(tuple(xy), text, font=font_for_record(tag["font"], size), fill=tuple(fill))
