"""Subtitle looks seen on air, by name. ``sample_look`` turns a style name and a block of uniform draws into
the subtitle's fill, outline, shadow and box; the record keeps the name (``subtitle.style``).

- ``classic``: the course's original rendering: near-white, a 1 px black outline when the brightest pixel
  under the text is bright, else no outline and one time in four a hard lower-right shadow.
- ``outline_white`` / ``outline_yellow``: white or yellow inside a black outline of 3.5-8 % of the size.
- ``thin_outline``: white inside a 1-2 px outline (at 720p).
- ``shadow_only``: white without outline, on a hard or a soft drop shadow.
- ``bar``: white without outline on a translucent dark bar (tight round the text, or across the frame).
- ``speaker``: a speaker's colour (cyan, green, pink, orange, light blue, yellow) inside a black outline;
  two lines may be two speakers in two colours.

Outlined styles (outline_*, thin_outline, speaker) get a soft drop shadow with probability ``p_shadow``.
Every style draws the same number of uniforms, so the style never shifts the draws after it.
"""

from __future__ import annotations

SUBTITLE_STYLES = ("classic", "outline_white", "outline_yellow", "thin_outline", "shadow_only", "bar", "speaker")
OUTLINED = ("outline_white", "outline_yellow", "thin_outline", "speaker")
SPEAKER_COLORS = ((0, 225, 255), (120, 255, 120), (255, 150, 205), (255, 170, 60), (150, 200, 255), (255, 240, 80))
N_DRAWS = 12  # uniforms a look takes (fixed: see the module note)
BRIGHT_THRESHOLD = 150  # the original's rule: outline when the brightest pixel under the text is brighter


def pick_style(u: float, weights: tuple[tuple[str, float], ...]) -> str:
    total = sum(w for _, w in weights)
    x = u * total
    for name, w in weights:
        x -= w
        if x < 0:
            return name
    return weights[-1][0]


def _lerp(u: float, lo: float, hi: float, nd: int = 3) -> float:
    return float(round(lo + (hi - lo) * u, nd))


def _near_white(u: float, lo: int) -> list[int]:
    v = min(255, int(lo + (256 - lo) * u))
    return [v, v, v]


def sample_look(style: str, u, *, size: int, scale: float, n_lines: int, brightest: float,
                soft_shadow: bool) -> dict:
    """Fill, per-line fills, stroke, shadow and bar of ``style`` from the uniforms ``u`` (N_DRAWS of them).
    ``brightest`` is the mean RGB of the brightest pixel under the text (the classic style's rule)."""
    u = [float(x) for x in u]
    look = {"fill": _near_white(u[0], 250), "line_fills": None, "stroke_width": 0, "stroke_fill": [0, 0, 0],
            "shadow": None, "bar": None, "outline_rule": style}
    scaled = max(2, int(round(size * _lerp(u[1], 0.035, 0.08))))
    hard = {"offset": [max(1, int(round((2 + 2 * u[2]) * scale)))] * 2, "color": [0, 0, 0], "blur": 0.0,
            "opacity": 1.0}
    soft = {"offset": [max(1, int(round(size * _lerp(u[3], 0.03, 0.09))))] * 2, "color": [0, 0, 0],
            "blur": _lerp(u[4], 0.02, 0.08) * size, "opacity": _lerp(u[5], 0.5, 0.9)}
    if style == "classic":
        if brightest > BRIGHT_THRESHOLD:
            look.update(stroke_width=max(1, int(round(scale))), outline_rule="bright_outline")
        else:
            look["outline_rule"] = "dark"
            if u[2] < 0.25:
                hard["offset"] = [max(1, int(round((2 + 2 * u[6]) * scale)))] * 2
                look["shadow"] = hard
        return look
    if style == "outline_white":
        look.update(fill=_near_white(u[0], 238), stroke_width=scaled)
    elif style == "outline_yellow":
        look.update(fill=[int(235 + 20 * u[0]), int(200 + 35 * u[6]), int(70 * u[7])], stroke_width=scaled)
    elif style == "thin_outline":
        look.update(fill=_near_white(u[0], 240), stroke_width=max(1, int(round((1 if u[6] < 0.6 else 2) * scale))))
    elif style == "shadow_only":
        look.update(fill=_near_white(u[0], 240), shadow=hard if u[6] < 0.4 else soft)
        return look
    elif style == "bar":
        look.update(fill=_near_white(u[0], 240),
                    bar={"pad": _lerp(u[6], 0.15, 0.4), "color": [int(40 * u[7])] * 3, "alpha": _lerp(u[8], 0.4, 0.8),
                         "full_width": bool(u[9] < 0.3)})
        return look
    elif style == "speaker":
        k = int(u[6] * len(SPEAKER_COLORS)) % len(SPEAKER_COLORS)
        look.update(fill=[int(v) for v in SPEAKER_COLORS[k]], stroke_width=scaled)
        if n_lines == 2 and u[7] < 0.5:  # two speakers: the second line in another colour (or white)
            j = (k + 1 + int(u[8] * (len(SPEAKER_COLORS) - 1))) % len(SPEAKER_COLORS)
            second = [int(v) for v in SPEAKER_COLORS[j]] if u[9] < 0.6 else [250, 250, 250]
            look["line_fills"] = [look["fill"], second]
    else:
        raise ValueError(f"unknown subtitle style {style!r}; choose from {', '.join(SUBTITLE_STYLES)}")
    if soft_shadow:
        look["shadow"] = soft
    return look
