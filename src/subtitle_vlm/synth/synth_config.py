"""Options of ``subtitle-vlm synth``: inputs, output, and one probability or range per effect.

Every effect option defaults to ``None``, meaning "take it from ``--style``":

- ``tv`` (default): what TV shows: the subtitle styles seen on air (the original rendering among them),
  the three text conventions mixed, a news ticker in about 3 frames in 10, name tags, a station logo in
  most frames, titles and captions, scene text, two lines, weight, letter spacing, frames without
  subtitle, resampling / blur / noise, JPEG 75-95.
- ``clean``: the plain original rendering (near-white fill, 1 px black outline on bright backgrounds, else
  1-in-4 a lower-right offset shadow, top edge between H-3h and H-2h), the corpus punctuation; no layout
  elements, no degradations, JPEG 95.
- ``hard``: photographs only, most with text in the scene, tickers, tags, logos, titles and captions more
  often, every subtitle style, 480p round trip, JPEG 55-90, more frames without subtitle.

``SynthConfig.params()`` resolves the preset plus any explicit option into a ``StyleParams``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from subtitle_vlm.io import InputError
from subtitle_vlm.synth.conventions import CONVENTIONS, MIX, resolve
from subtitle_vlm.synth.fonts import FONT_GROUPS
from subtitle_vlm.synth.subtitle_style import SUBTITLE_STYLES

STYLES = ("tv", "clean", "hard")
# How often each subtitle style shows (relative weights). ``--subtitle-styles`` keeps the preset's weights
# of the styles it names (the tv weight for a style the preset leaves out).
TV_STYLE_WEIGHTS = (("classic", 0.24), ("outline_white", 0.24), ("outline_yellow", 0.1), ("thin_outline", 0.12),
                    ("shadow_only", 0.1), ("bar", 0.08), ("speaker", 0.12))
HARD_STYLE_WEIGHTS = (("classic", 0.1), ("outline_white", 0.18), ("outline_yellow", 0.14), ("thin_outline", 0.16),
                      ("shadow_only", 0.16), ("bar", 0.12), ("speaker", 0.14))
# Output sides: below 64 px no subtitle is legible; above 8192 (8K is 7680x4320) a frame and the
# per-process background caches stop fitting in memory.
MIN_SIDE, MAX_SIDE = 64, 8192


@dataclass(frozen=True)
class StyleParams:
    """Resolved effect probabilities and ranges (sizes are at 720p and scale with the output height)."""

    font_size: tuple[int, int] = (50, 70)
    p_empty: float = 0.03
    p_two_line: float = 0.15
    p_weight: float = 0.5
    p_letter_spacing: float = 0.1
    p_shadow: float = 0.15
    subtitle_styles: tuple[tuple[str, float], ...] = TV_STYLE_WEIGHTS
    text_conventions: tuple[str, ...] = CONVENTIONS
    p_ticker: float = 0.3
    p_ticker_label: float = 0.5
    p_tag: float = 0.2
    p_logo: float = 0.6
    p_title: float = 0.15
    p_caption: float = 0.15
    p_scene_text: float = 0.15
    p_resample: float = 0.15
    resample_heights: tuple[int, ...] = (480, 1080)
    p_blur: float = 0.1
    p_noise: float = 0.1
    jpeg_quality: tuple[int, int] = (75, 95)
    builtin_backgrounds: Literal["all", "photos", "scenes"] = "all"
    zooms: tuple[float, ...] = (1.0, 1.15, 1.3)
    p_tone: float = 0.5


PRESETS: dict[str, StyleParams] = {
    "tv": StyleParams(),
    "clean": StyleParams(
        p_empty=0.0, p_two_line=0.0, p_weight=0.0, p_letter_spacing=0.0, p_shadow=0.0,
        subtitle_styles=(("classic", 1.0),), text_conventions=("punctuated",), p_ticker=0.0, p_ticker_label=0.0,
        p_tag=0.0, p_logo=0.0, p_title=0.0, p_caption=0.0, p_scene_text=0.0, p_resample=0.0,
        p_blur=0.0, p_noise=0.0, jpeg_quality=(95, 95), p_tone=0.0,
    ),
    "hard": StyleParams(
        p_empty=0.1, p_two_line=0.2, p_weight=0.6, p_letter_spacing=0.15, p_shadow=0.25,
        subtitle_styles=HARD_STYLE_WEIGHTS, p_ticker=0.35, p_ticker_label=0.6, p_tag=0.3, p_logo=0.8,
        p_title=0.5, p_caption=0.5, p_scene_text=0.7, p_resample=0.6,
        resample_heights=(480,), p_blur=0.2, p_noise=0.25, jpeg_quality=(55, 90),
        builtin_backgrounds="photos", p_tone=0.7,
    ),
}

_PRESET_HELP = "(default: from --style)"


def _p(help_: str):
    return field(default=None, metadata={"help": f"probability of {help_} {_PRESET_HELP}"})


@dataclass
class SynthConfig:
    out: str = field(default="", metadata={"help": "output folder (frame set: images + metadata.jsonl)"})
    count: int = field(default=100, metadata={"help": "frames to make (a rerun with more extends the set)"})
    seed: int = field(default=0, metadata={"help": "master seed; frame i's seed derives from it and i"})
    workers: int = field(default=1, metadata={"help": "worker processes (output is identical for any number)"})
    backgrounds: str | None = field(default=None, metadata={
        "help": "folder of background images (recursive jpg/png/webp/bmp); none: built-in scenes and photos"})
    sentences: str | None = field(default=None, metadata={
        "help": "sentence file (UTF-8, one a line, or name<TAB>sentence .tsv); none: the built-in corpus"})
    fonts: list[str] = field(default_factory=list, metadata={
        "help": "font files or folders (.ttf/.otf/.ttc); none: installed font wheels, else system fonts"})
    font_faces: Literal["auto", "all"] = field(default="auto", metadata={
        "help": "faces of .ttc collections: auto = Traditional Chinese faces (TC/HK) when present, else all"})
    size: str = field(default="1280x720", metadata={"help": "output size WIDTHxHEIGHT"})
    style: Literal["tv", "clean", "hard"] = field(default="tv", metadata={
        "help": "tv = original rendering + variations; clean = original only; hard = scene text, heavy distractors, low quality"})
    image_format: Literal["jpg", "png"] = field(default="jpg", metadata={"help": "image file type"})
    convert: str | None = field(default=None, metadata={
        "help": "OpenCC conversion for the sentences, e.g. s2twp for a Simplified corpus"})
    min_len: int = field(default=1, metadata={"help": "drop sentences shorter than this (characters)"})
    max_len: int = field(default=40, metadata={"help": "drop sentences longer than this (characters)"})
    font_size: list[int] | None = field(default=None, metadata={
        "help": f"font size range MIN MAX in px at 720p, scaled with the height {_PRESET_HELP}"})
    jpeg_quality: list[int] | None = field(default=None, metadata={
        "help": f"JPEG quality range MIN MAX {_PRESET_HELP}"})
    p_empty: float | None = _p("a frame without subtitle (label '')")
    p_two_line: float | None = _p("wrapping a sentence of 8+ characters into two lines")
    p_weight: float | None = _p("a random weight (variable fonts)")
    p_letter_spacing: float | None = _p("extra letter spacing")
    p_shadow: float | None = _p("a soft drop shadow under an outlined subtitle")
    subtitle_styles: list[str] | None = field(default=None, metadata={
        "help": f"subtitle styles to draw from ({', '.join(SUBTITLE_STYLES)}), at the preset's rates "
                f"{_PRESET_HELP}"})
    text_convention: list[str] | None = field(default=None, metadata={
        "help": f"how punctuation shows: {MIX} (all, mixed), or some of {', '.join(CONVENTIONS)} "
                "(taiwan: pauses as a full-width space, no final stop; none: phrases split by a space) "
                f"{_PRESET_HELP}"})
    font_groups: list[str] | None = field(default=None, metadata={
        "help": f"draw subtitles only in fonts of these groups ({', '.join(FONT_GROUPS)}); none: every group"})
    exclude_font_groups: list[str] = field(default_factory=list, metadata={
        "help": "never draw subtitles in fonts of these groups (other text may still use them)"})
    p_ticker: float | None = _p("a news ticker along the bottom edge (the subtitle then sits above it)")
    p_ticker_label: float | None = _p("a label block (快訊 ...) on a ticker")
    p_tag: float | None = _p("a lower-third name / place / reporter tag")
    p_logo: float | None = _p("a station logo in a top corner")
    p_title: float | None = _p("a coloured programme title near the top")
    p_caption: float | None = _p("a coloured headline caption at the top or the side")
    p_scene_text: float | None = _p("text in the scene (signs, Latin words, lettering, posters; 1-3 items)")
    p_resample: float | None = _p("a 480p/1080p round trip")
    p_blur: float | None = _p("a slight blur")
    p_noise: float | None = _p("sensor noise")
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})

    def validate(self) -> None:
        if not self.out:
            raise InputError("--out is required: the folder to write the frame set to")
        if self.count < 0:
            raise InputError("--count must be >= 0")
        if self.workers < 1:
            raise InputError("--workers must be >= 1")
        if self.min_len < 1 or self.min_len > self.max_len:
            raise InputError(f"--min-len {self.min_len} and --max-len {self.max_len}: "
                             "give 1 <= --min-len <= --max-len (characters)")
        self.width_height()
        for name in ("font_size", "jpeg_quality"):
            v = getattr(self, name)
            if v is not None and (len(v) != 2 or v[0] > v[1] or v[0] < 1):
                raise InputError(f"--{name.replace('_', '-')} takes two numbers MIN MAX with 1 <= MIN <= MAX, got {v}")
        if self.jpeg_quality is not None and self.jpeg_quality[1] > 100:
            raise InputError("--jpeg-quality must be at most 100")
        for name, allowed in (("subtitle_styles", SUBTITLE_STYLES), ("text_convention", CONVENTIONS + (MIX,)),
                              ("font_groups", FONT_GROUPS), ("exclude_font_groups", FONT_GROUPS)):
            v = getattr(self, name)
            flag = "--" + name.replace("_", "-")
            if v is not None and not isinstance(v, (list, tuple)):
                raise InputError(f"{flag} takes a list of names from {', '.join(allowed)}, got {v!r}")
            if v is not None and name != "exclude_font_groups" and not v:
                raise InputError(f"{flag}: give at least one of {', '.join(allowed)}, or leave it out")
            bad = [x for x in v or () if x not in allowed]
            if bad:
                raise InputError(f"{flag} {' '.join(map(str, bad))}: unknown; choose from {', '.join(allowed)}")
        if self.font_groups and set(self.font_groups) <= set(self.exclude_font_groups):
            raise InputError(f"--font-groups {' '.join(self.font_groups)} are all in --exclude-font-groups: "
                             "no font group is left for the subtitle")
        for f in dataclasses.fields(self):
            if f.name.startswith("p_"):
                v = getattr(self, f.name)
                if v is not None and not 0.0 <= v <= 1.0:
                    raise InputError(f"--{f.name.replace('_', '-')} is a probability: give a value in [0, 1], got {v}")

    def width_height(self) -> tuple[int, int]:
        try:
            w, h = (int(x) for x in self.size.lower().split("x"))
        except ValueError:
            raise InputError(f"--size {self.size!r}: write it as WIDTHxHEIGHT, e.g. 1280x720") from None
        if not (MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE):
            raise InputError(f"--size {self.size!r}: each side must be between {MIN_SIDE} and {MAX_SIDE} pixels, "
                             "e.g. 1280x720")
        return w, h

    def params(self) -> StyleParams:
        """The style preset with every explicitly given option on top."""
        base = PRESETS[self.style]
        over = {f.name: getattr(self, f.name) for f in dataclasses.fields(StyleParams)
                if hasattr(self, f.name) and getattr(self, f.name) is not None}
        for k in ("font_size", "jpeg_quality"):
            if k in over:
                over[k] = tuple(over[k])
        if self.subtitle_styles is not None:
            mine, tv = dict(base.subtitle_styles), dict(TV_STYLE_WEIGHTS)
            over["subtitle_styles"] = tuple((n, mine.get(n) or tv[n]) for n in dict.fromkeys(self.subtitle_styles))
        if self.text_convention is not None:
            over["text_conventions"] = resolve(self.text_convention)
        return dataclasses.replace(base, **over)

    def subtitle_font_groups(self) -> tuple[str, ...]:
        """The font groups a subtitle may be drawn in (``--font-groups`` less ``--exclude-font-groups``)."""
        chosen = self.font_groups or FONT_GROUPS
        return tuple(g for g in chosen if g not in self.exclude_font_groups)

    def identity(self) -> dict:
        """Settings that decide the frames' content: a resumed run must match them."""
        skip = {"out", "count", "workers", "progress"}
        from subtitle_vlm.config import config_to_dict

        return {k: v for k, v in config_to_dict(self).items() if k not in skip}
