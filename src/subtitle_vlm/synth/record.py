"""``sample_record(index, cfg, assets)``: every random choice of one frame, as a JSON-able dict.

Frame ``index`` draws from its own generator, seeded by ``frame_seed(cfg.seed, index)`` (numpy
``SeedSequence`` with the index as spawn key), so a frame never depends on which worker made it or
which frames came before. The record holds everything ``render_record`` needs:

    file_name, text ("" when none), index, seed, style, size [W, H],
    background {ref, zoom, offset [fx, fy], flip, gain, bias},
    subtitle None | {lines, line_xy, font {path, index, name, weight}, font_size, fill, stroke_width,
                     stroke_fill, letter_spacing, shadow None | {offset, color, blur, opacity},
                     box None | {rect, color, alpha}, bbox [x0, y0, x1, y1], outline_rule},
    lines (the wrapped lines, [] when none), scene_text [...] (see scene_text.py), distractors [...],
    degradations {resample None | {height, down, up}, blur, noise, jpeg_quality}

``text`` is the sentence as in the corpus; ``lines`` is how it was wrapped (the space at a break dropped).
"""

from __future__ import annotations

import numpy as np

from subtitle_vlm.synth.backgrounds import background_view
from subtitle_vlm.synth.distractors import sample_distractors
from subtitle_vlm.synth.fonts import load_font
from subtitle_vlm.synth.layout import block_bbox, line_height, text_width
from subtitle_vlm.synth.scene_text import sample_scene_text
from subtitle_vlm.text.wrap import wrap_two_lines

WEIGHTS = (300, 400, 500, 600, 700, 800, 900)
REGULAR_WEIGHT = 400
MAX_WIDTH_FRACTION = 0.92
MIN_FONT_PX = 8
LINE_GAP = 0.12  # extra space between two lines, in font sizes
BRIGHT_THRESHOLD = 150  # the original's rule: outline when the brightest pixel under the text is brighter


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
    return max(int(font.getbbox(ln)[3]) for ln in lines)


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


def sample_subtitle(rng, text: str, font_choices, assets, params, W: int, H: int, bg_img) -> dict:
    scale = H / 720
    info = assets.fonts[font_choices[int(rng.integers(len(font_choices)))]]
    weight = None
    if info.weight_range:
        w = int(rng.choice(WEIGHTS)) if rng.random() < params.p_weight else REGULAR_WEIGHT
        weight = int(np.clip(w, *info.weight_range))
    lo, hi = params.font_size
    size = int(rng.integers(max(MIN_FONT_PX, round(lo * scale)), max(MIN_FONT_PX, round(hi * scale)) + 1))
    if rng.random() < params.p_yellow:
        fill = [int(rng.integers(235, 256)), int(rng.integers(200, 236)), int(rng.integers(0, 70))]
    else:
        fill = [int(v) for v in rng.integers(250, 256, 3)]
    spacing_frac = _uniform(rng, 0.04, 0.22) if rng.random() < params.p_letter_spacing else 0.0
    two_line = len(text) >= 8 and rng.random() < params.p_two_line
    scaled_stroke = rng.random() < params.p_scaled_stroke
    stroke_frac = _uniform(rng, 0.035, 0.08)
    soft_shadow = rng.random() < params.p_shadow
    hard_shadow = rng.random() < 0.25
    with_box = rng.random() < params.p_box

    lines = wrap_two_lines(text, len(text) - 1) if two_line else [text]
    fitted = fit_lines(info, text, lines, size, spacing_frac, weight, W, H)
    if fitted is None and spacing_frac:
        fitted = fit_lines(info, text, lines, size, 0.0, weight, W, H)
    if fitted is None:  # load_assets drops sentences that cannot fit at MIN_FONT_PX; reaching here is a bug
        raise RuntimeError(f"{text!r} does not fit a {W}x{H} frame in {info.name} at {MIN_FONT_PX} px")
    lines, size, font, spacing = fitted

    # Original rule: the (last) line's top edge uniformly between H-3h and H-2h, h = the text's height
    # measured from the top of the line (what PIL's old getsize returned: the ink's bottom below the top).
    h = _text_height(font, lines)
    pitch = line_height(font) + int(round(size * LINE_GAP))
    top_last = int(rng.integers(H - 3 * h, H - 2 * h + 1))
    top = top_last - (len(lines) - 1) * pitch
    line_xy = []
    for i, ln in enumerate(lines):
        x = int(round((W - text_width(font, ln, spacing)) / 2))
        line_xy.append([x, top + i * pitch])

    ink = block_bbox(font, lines, line_xy, spacing, 0) or (0, top, W, top + h)
    brightest = _brightest(bg_img, ink)
    base_stroke = max(1, int(round(scale)))
    shadow = None
    if scaled_stroke:
        stroke_width, rule = max(2, int(round(size * stroke_frac))), "scaled"
    elif brightest > BRIGHT_THRESHOLD:
        stroke_width, rule = base_stroke, "bright_outline"
    else:
        stroke_width, rule = 0, "dark"
        if hard_shadow:
            off = int(rng.integers(max(1, round(2 * scale)), max(2, round(4 * scale)) + 1))
            shadow = {"offset": [off, off], "color": [0, 0, 0], "blur": 0.0, "opacity": 1.0}
    if soft_shadow:
        off = max(1, int(round(size * _uniform(rng, 0.03, 0.09))))
        shadow = {"offset": [off, off], "color": [0, 0, 0], "blur": _uniform(rng, 0.02, 0.08) * size,
                  "opacity": _uniform(rng, 0.5, 0.9)}
    box = None
    if with_box:
        pad = int(round(size * _uniform(rng, 0.15, 0.4)))
        x0, y0, x1, y1 = block_bbox(font, lines, line_xy, spacing, stroke_width) or ink
        box = {"rect": [x0 - pad, y0 - pad, x1 + pad, y1 + pad], "color": [int(v) for v in rng.integers(0, 40, 3)],
               "alpha": _uniform(rng, 0.35, 0.75)}
        if not scaled_stroke:
            stroke_width, rule = 0, "box"
    bbox = block_bbox(font, lines, line_xy, spacing, stroke_width) or ink
    return {
        "lines": lines, "line_xy": line_xy,
        "font": {"path": info.path, "index": info.index, "name": info.name, "weight": weight},
        "font_size": size, "fill": fill, "stroke_width": stroke_width, "stroke_fill": [0, 0, 0],
        "letter_spacing": spacing, "shadow": shadow, "box": box, "bbox": list(bbox),
        "outline_rule": rule, "brightest_under_text": round(brightest, 1),
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


def sample_record(index: int, cfg, assets) -> dict:
    """All random choices of frame ``index`` of the run ``cfg`` (a ``SynthConfig``) over ``assets``."""
    W, H = cfg.width_height()
    params = cfg.params()
    seed = frame_seed(cfg.seed, index)
    rng = np.random.default_rng(seed)
    rec: dict = {"file_name": frame_name(index, cfg.image_format), "text": "", "index": int(index),
                 "seed": seed, "style": cfg.style, "size": [W, H]}
    rec["background"] = sample_background(rng, assets.backgrounds, params)
    subtitle = None
    if not rng.random() < params.p_empty:
        si = int(rng.integers(len(assets.sentences)))
        text = assets.sentences[si]
        bg_img = background_view(rec["background"], W, H)
        subtitle = sample_subtitle(rng, text, assets.sentence_fonts[si], assets, params, W, H, bg_img)
        rec["text"] = text
    rec["subtitle"] = subtitle
    rec["lines"] = list(subtitle["lines"]) if subtitle else []
    if subtitle:
        protect = tuple(subtitle["box"]["rect"]) if subtitle["box"] else tuple(subtitle["bbox"])
    else:  # keep the place a subtitle would take free, so the frame reads as "no subtitle"
        protect = (int(0.1 * W), int(0.55 * H), int(0.9 * W), H)
    # Scene text draws from a generator of its own, so switching it on changes nothing else in the frame.
    scene_rng = np.random.default_rng([seed, 3])
    rec["scene_text"] = sample_scene_text(scene_rng, assets, params, W, H,
                                          tuple(subtitle["bbox"]) if subtitle else None)
    rec["distractors"] = sample_distractors(rng, assets, params, W, H, protect)
    rec["degradations"] = sample_degradations(rng, params)
    return rec
