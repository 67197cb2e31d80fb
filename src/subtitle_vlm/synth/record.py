"""``sample_record(index, cfg, assets)``: every random choice of one frame, as a JSON-able dict.

Frame ``index`` draws from its own generator, seeded by ``frame_seed(cfg.seed, index)`` (numpy
``SeedSequence`` with the index as spawn key), so a frame never depends on which worker made it or
which frames came before. The record holds everything ``render_record`` needs:

    file_name, text ("" when none), source_text, index, seed, style, size [W, H],
    background {ref, zoom, offset [fx, fy], flip, gain, bias}, convention None | str,
    subtitle None | {style, text, lines, line_xy, font {path, index, name, weight, group}, font_size, fill,
                     line_fills, stroke_width, stroke_fill, letter_spacing,
                     shadow None | {offset, color, blur, opacity}, box None | {rect, color, alpha},
                     bbox [x0, y0, x1, y1], bottom, outline_rule, brightest_under_text},
    lines (the wrapped lines, [] when none), ticker None | {...} (ticker.py), tags [...] (tags.py),
    scene_text [...] (scene_text.py), distractors [...] (distractors.py),
    degradations {resample None | {height, down, up}, blur, noise, jpeg_quality},
    layout {...}, elements [...] (elements.py)

``source_text`` is the sentence as in the corpus; ``text`` (the label) is what the screen shows after the
frame's text convention; ``lines`` is how it was wrapped (the space at a break dropped).
"""

from __future__ import annotations

import numpy as np

from subtitle_vlm.synth.backgrounds import background_view
from subtitle_vlm.synth.conventions import IDEOGRAPHIC_SPACE, apply_convention, sample_convention
from subtitle_vlm.synth.conventions import STREAM as CONVENTION_STREAM
from subtitle_vlm.synth.distractors import STREAMS as OVERLAY_STREAMS
from subtitle_vlm.synth.distractors import overlay_extent, sample_overlay
from subtitle_vlm.synth.elements import build_elements, frame_elements, frame_layout  # noqa: F401 (API)
from subtitle_vlm.synth.fonts import load_font
from subtitle_vlm.synth.layout import block_bbox, line_height, text_bbox, text_width
from subtitle_vlm.synth.scene_text import STREAM as SCENE_STREAM
from subtitle_vlm.synth.scene_text import sample_scene_text
from subtitle_vlm.synth.subtitle_style import N_DRAWS, pick_style, sample_look
from subtitle_vlm.synth.tags import STREAM as TAG_STREAM
from subtitle_vlm.synth.tags import sample_tags
from subtitle_vlm.synth.ticker import STREAM as TICKER_STREAM
from subtitle_vlm.synth.ticker import sample_ticker
from subtitle_vlm.text.wrap import wrap_two_lines

SAMPLED = object()  # sample_record's default: draw the ticker from the frame's ticker stream

WEIGHTS = (300, 400, 500, 600, 700, 800, 900)
REGULAR_WEIGHT = 400
MAX_WIDTH_FRACTION = 0.92
MIN_FONT_PX = 8
LINE_GAP = 0.12  # extra space between two lines, in font sizes


def frame_seed(master_seed: int, index: int) -> int:
    """63-bit seed of frame ``index`` (fits a signed 64-bit integer in any JSON reader)."""
    state = np.random.SeedSequence(int(master_seed), spawn_key=(int(index),)).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


def frame_name(index: int, ext: str = "jpg") -> str:
    return f"frame_{index + 1:06d}.{ext}"


def _uniform(rng, lo: float, hi: float, nd: int = 3) -> float:
    return float(round(rng.uniform(lo, hi), nd))


def sample_background(rng, refs: list[str], params) -> dict:
    ref = refs[int(rng.integers(len(refs)))]
    zoom = float(params.zooms[int(rng.integers(len(params.zooms)))]) if params.zooms else 1.0
    bg = {"ref": ref, "zoom": zoom, "offset": [_uniform(rng, 0, 1), _uniform(rng, 0, 1)],
          "flip": bool(rng.random() < 0.5), "gain": 1.0, "bias": 0.0}
    if rng.random() < params.p_tone:
        bg["gain"] = _uniform(rng, 0.7, 1.25)
        bg["bias"] = _uniform(rng, -25, 25, 1)
    return bg


def _brightest(bg_img, box) -> float:
    x0, y0, x1, y1 = box
    W, H = bg_img.size
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    arr = np.asarray(bg_img.crop((x0, y0, x1, y1)), dtype=np.uint16)
    return float(arr.sum(axis=2).max()) / 3.0


def _text_height(font, lines: list[str]) -> int:
    """The original's h: the ink's bottom below the top of the line (PIL's old getsize height)."""
    return max(int(text_bbox(font, ln)[3]) for ln in lines)


def _block_fits(font, lines: list[str], spacing: int, size: int, W: int, H: int) -> tuple[float, float]:
    """How far the block over- or undershoots (<= 1 fits): widest line against MAX_WIDTH_FRACTION of W,
    and the placement rule's need (top edge down to H-3h, the lines above it) against H."""
    widest = max(text_width(font, ln, spacing) for ln in lines)
    h = _text_height(font, lines)
    need = 3 * h + (len(lines) - 1) * (line_height(font) + int(round(size * LINE_GAP)))
    return widest / (W * MAX_WIDTH_FRACTION), need / H


def fit_lines(info, text: str, lines: list[str], size: int, spacing_frac: float, weight, W: int, H: int):
    """Shrink (and wrap into two lines when one is too wide) until the subtitle fits the frame.
    Returns (lines, size, font, letter spacing px), or None when it does not fit even at MIN_FONT_PX."""
    size = max(MIN_FONT_PX, size)
    for _ in range(12):
        font = load_font(info.path, info.index, size, weight)
        spacing = int(round(size * spacing_frac))
        over_w, over_h = _block_fits(font, lines, spacing, size, W, H)
        if over_w <= 1 and over_h <= 1:
            return lines, size, font, spacing
        if over_w > 1 and len(lines) == 1 and len(text) >= 2:
            lines = wrap_two_lines(text, len(text) - 1)
            continue
        if size == MIN_FONT_PX:
            return None
        size = max(MIN_FONT_PX, min(size - 1, int(size / max(over_w, over_h))))
    return None


def fits_frame(info, text: str, W: int, H: int) -> bool:
    """Whether ``text`` can be set in ``info`` inside a W x H frame (two lines at MIN_FONT_PX at worst)."""
    if len(text) * MIN_FONT_PX * 1.5 <= W * MAX_WIDTH_FRACTION:  # one line at the smallest size: always fits
        return True
    weight = info.weight_range[1] if info.weight_range else None  # the widest weight the sampler may pick
    return fit_lines(info, text, [text], MIN_FONT_PX, 0.0, weight, W, H) is not None


def pick_subtitle_font(rng, font_choices, assets) -> int:
    """A typeface group first, then a face in it, so a machine with many sans faces still shows every group
    as often (``font_choices`` are indices into ``assets.fonts``)."""
    groups: dict[str, list[int]] = {}
    for i in font_choices:
        groups.setdefault(assets.font_groups[i], []).append(i)
    names = sorted(groups)
    g = names[int(rng.integers(len(names)))]
    return groups[g][int(rng.integers(len(groups[g])))]


def sample_subtitle(rng, text: str, font_choices, assets, params, W: int, H: int, bg_img, bottom: int | None = None,
                    convention: str = "punctuated") -> dict:
    """The subtitle of ``text`` (the corpus sentence) shown under ``convention``, its block above ``bottom``
    (the ticker's top edge; the frame's bottom when there is none, or when the block does not fit above it)."""
    scale = H / 720
    fi = pick_subtitle_font(rng, font_choices, assets)
    info = assets.fonts[fi]
    weight = None
    if info.weight_range:
        w = int(rng.choice(WEIGHTS)) if rng.random() < params.p_weight else REGULAR_WEIGHT
        weight = int(np.clip(w, *info.weight_range))
    lo, hi = params.font_size
    size = int(rng.integers(max(MIN_FONT_PX, round(lo * scale)), max(MIN_FONT_PX, round(hi * scale)) + 1))
    style = pick_style(float(rng.random()), params.subtitle_styles)
    look_u = rng.random(N_DRAWS)
    spacing_frac = _uniform(rng, 0.04, 0.22) if rng.random() < params.p_letter_spacing else 0.0
    two_line = rng.random() < params.p_two_line
    soft_shadow = rng.random() < params.p_shadow
    placement_u = float(rng.random())

    shown = apply_convention(text, convention, IDEOGRAPHIC_SPACE if info.covers(IDEOGRAPHIC_SPACE) else " ")
    shown = shown or text  # a sentence of punctuation only keeps its marks
    lines = wrap_two_lines(shown, len(shown) - 1) if two_line and len(shown) >= 8 else [shown]
    bottom = H if bottom is None else int(bottom)
    fitted = None
    for limit in dict.fromkeys((bottom, H)):  # above the ticker if the block fits there, else as without one
        for frac in dict.fromkeys((spacing_frac, 0.0)):
            fitted = fit_lines(info, shown, lines, size, frac, weight, W, limit)
            if fitted is not None:
                break
        if fitted is not None:
            bottom = limit
            break
    if fitted is None:  # load_assets drops sentences that cannot fit at MIN_FONT_PX; reaching here is a bug
        raise RuntimeError(f"{shown!r} does not fit a {W}x{H} frame in {info.name} at {MIN_FONT_PX} px")
    lines, size, font, spacing = fitted

    # Original rule: the (last) line's top edge uniformly between B-3h and B-2h, B = the frame's bottom (or
    # the ticker's top), h = the text's height from the top of the line (PIL's old getsize height).
    h = _text_height(font, lines)
    pitch = line_height(font) + int(round(size * LINE_GAP))
    top_last = (bottom - 3 * h) + int(placement_u * (h + 1))
    top = top_last - (len(lines) - 1) * pitch
    line_xy = []
    for i, ln in enumerate(lines):
        x = int(round((W - text_width(font, ln, spacing)) / 2))
        line_xy.append([x, top + i * pitch])

    ink = block_bbox(font, lines, line_xy, spacing, 0) or (0, top, W, top + h)
    brightest = _brightest(bg_img, ink)
    look = sample_look(style, look_u, size=size, scale=scale, n_lines=len(lines), brightest=brightest,
                       soft_shadow=soft_shadow)
    stroke_width = look["stroke_width"]
    bbox = block_bbox(font, lines, line_xy, spacing, stroke_width) or ink
    box = None
    if look["bar"]:
        bar = look["bar"]
        pad = int(round(size * bar["pad"]))
        x0, y0, x1, y1 = bbox
        rect = [0, y0 - pad, W, y1 + pad] if bar["full_width"] else [x0 - pad, y0 - pad, x1 + pad, y1 + pad]
        box = {"rect": rect, "color": bar["color"], "alpha": bar["alpha"]}
    return {
        "style": style, "text": shown, "lines": lines, "line_xy": line_xy,
        "font": {"path": info.path, "index": info.index, "name": info.name, "weight": weight,
                 "group": assets.font_groups[fi]},
        "font_size": size, "fill": look["fill"], "line_fills": look["line_fills"], "stroke_width": stroke_width,
        "stroke_fill": look["stroke_fill"], "letter_spacing": spacing, "shadow": look["shadow"], "box": box,
        "bbox": list(bbox), "bottom": bottom, "outline_rule": look["outline_rule"],
        "brightest_under_text": round(brightest, 1),
    }


def sample_degradations(rng, params) -> dict:
    deg: dict = {"resample": None, "blur": 0.0, "noise": 0.0}
    if rng.random() < params.p_resample and params.resample_heights:
        names = ("bilinear", "bicubic", "lanczos", "box")
        deg["resample"] = {"height": int(rng.choice(params.resample_heights)),
                           "down": names[int(rng.integers(len(names)))], "up": names[int(rng.integers(3))]}
    if rng.random() < params.p_blur:
        deg["blur"] = _uniform(rng, 0.4, 1.3)
    if rng.random() < params.p_noise:
        deg["noise"] = _uniform(rng, 2.0, 8.0)
    lo, hi = params.jpeg_quality
    deg["jpeg_quality"] = int(rng.integers(lo, hi + 1))
    return deg


def sample_record(index: int, cfg, assets, ticker=SAMPLED) -> dict:
    """All random choices of frame ``index`` of the run ``cfg`` (a ``SynthConfig``) over ``assets``.

    The frame's own generator draws the background, the sentence, the subtitle and the degradations; each
    layout component draws from a generator of its own (``[seed, STREAM]``). Components are placed in the
    order ticker, subtitle, logo, title, caption, tags, scene text, each clear of those before it, so turning
    one off changes no other component's draws, only (rarely) which of its spots a later one takes.
    ``ticker`` given (a ticker record or None) replaces the sampled one: a video keeps one ticker throughout.
    """
    W, H = cfg.width_height()
    params = cfg.params()
    seed = frame_seed(cfg.seed, index)
    rng = np.random.default_rng(seed)
    rec: dict = {"file_name": frame_name(index, cfg.image_format), "text": "", "source_text": "",
                 "index": int(index), "seed": seed, "style": cfg.style, "size": [W, H]}
    rec["background"] = sample_background(rng, assets.backgrounds, params)
    if ticker is SAMPLED:
        ticker = sample_ticker(np.random.default_rng([seed, TICKER_STREAM]), assets, params, W, H)
    convention = sample_convention(np.random.default_rng([seed, CONVENTION_STREAM]), params.text_conventions)
    bottom = int(ticker["band"][1]) if ticker else H
    if ticker and ticker.get("label"):
        bottom = min(bottom, int(ticker["label"]["rect"][1]))
    subtitle = None
    if not rng.random() < params.p_empty:
        si = int(rng.integers(len(assets.sentences)))
        text = assets.sentences[si]
        bg_img = background_view(rec["background"], W, H)
        subtitle = sample_subtitle(rng, text, assets.sentence_fonts[si], assets, params, W, H, bg_img, bottom,
                                   convention)
        if subtitle["bottom"] != bottom:  # the block only fits the full frame height: no ticker this time
            ticker, bottom = None, H
        rec["text"] = subtitle["text"]
        rec["source_text"] = text
    rec["convention"] = convention if subtitle else None
    rec["subtitle"] = subtitle
    rec["lines"] = list(subtitle["lines"]) if subtitle else []
    rec["ticker"] = ticker

    if subtitle:
        protect = tuple(subtitle["box"]["rect"]) if subtitle["box"] else tuple(subtitle["bbox"])
        tag_protect = protect
    else:  # keep the place a subtitle would take free, so the frame reads as "no subtitle"
        protect = (int(0.1 * W), int(0.55 * H), int(0.9 * W), bottom)
        tag_protect = (int(0.25 * W), int(0.6 * H), int(0.75 * W), bottom)
    placed: list = [tuple(ticker["band"])] if ticker else []
    if ticker and ticker.get("label"):
        placed.append(tuple(ticker["label"]["rect"]))
    distractors = []
    for kind, p in (("logo", params.p_logo), ("title", params.p_title), ("caption", params.p_caption)):
        d = sample_overlay(np.random.default_rng([seed, OVERLAY_STREAMS[kind]]), kind, assets, p, W, H,
                           [protect] + placed)
        if d is not None:
            distractors.append(d)
            placed.append(overlay_extent(d))
    tags = sample_tags(np.random.default_rng([seed, TAG_STREAM]), assets, params, W, H, [tag_protect] + placed)
    placed += [tuple(t["bbox"]) for t in tags]
    # Scene text is painted first and placed last: clear of the subtitle and of everything drawn over it.
    rec["scene_text"] = sample_scene_text(np.random.default_rng([seed, SCENE_STREAM]), assets, params, W, H,
                                          tuple(subtitle["bbox"]) if subtitle else None, avoid=placed + (
                                              [protect] if subtitle and subtitle["box"] else []))
    rec["distractors"] = distractors
    rec["tags"] = tags
    rec["degradations"] = sample_degradations(rng, params)
    rec["layout"] = frame_layout(rec)
    rec["elements"] = build_elements(rec)
    return rec

