"""Options of ``subtitle-vlm synth``: inputs, output, and one probability or range per effect.

Every effect option defaults to ``None``, meaning "take it from ``--style``":

- ``tv`` (default): the original rendering (near-white fill, 1 px black outline on bright backgrounds, else
  1-in-4 a lower-right offset shadow, top edge between H-3h and H-2h) plus variations at modest rates:
  scaled stroke, soft drop shadow, translucent box, yellow text, weight, two lines, letter spacing,
  distractor text, scene text, frames without subtitle, resampling / blur / noise, JPEG 75-95.
- ``clean``: the plain original rendering; no distractors, no degradations, JPEG 95.
- ``hard``: photographs only, most with text in the scene (signs, posters, Latin words), frequent
  distractor titles, captions and logos, 480p round trip, JPEG 55-90, more frames without subtitle.

``SynthConfig.params()`` resolves the preset plus any explicit option into a ``StyleParams``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from subtitle_vlm.io import InputError

STYLES = ("tv", "clean", "hard")
# Output sides: below 64 px no subtitle is legible; above 8192 (8K is 7680x4320) a frame and the
# per-process background caches stop fitting in memory.
MIN_SIDE, MAX_SIDE = 64, 8192


@dataclass(frozen=True)
class StyleParams:
    """Resolved effect probabilities and ranges (sizes are at 720p and scale with the output height)."""

    font_size: tuple[int, int] = (50, 70)
    p_empty: float = 0.03
    p_two_line: float = 0.15
    p_yellow: float = 0.1
    p_weight: float = 0.5
    p_letter_spacing: float = 0.1
    p_scaled_stroke: float = 0.35
    p_shadow: float = 0.15
    p_box: float = 0.06
    p_logo: float = 0.25
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
        p_empty=0.0, p_two_line=0.0, p_yellow=0.0, p_weight=0.0, p_letter_spacing=0.0, p_scaled_stroke=0.0,
        p_shadow=0.0, p_box=0.0, p_logo=0.0, p_title=0.0, p_caption=0.0, p_scene_text=0.0, p_resample=0.0,
        p_blur=0.0, p_noise=0.0, jpeg_quality=(95, 95), p_tone=0.0,
    ),
    "hard": StyleParams(
        p_empty=0.1, p_two_line=0.2, p_yellow=0.15, p_weight=0.6, p_letter_spacing=0.15, p_scaled_stroke=0.5,
        p_shadow=0.25, p_box=0.1, p_logo=0.7, p_title=0.5, p_caption=0.5, p_scene_text=0.7, p_resample=0.6,
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
    p_yellow: float | None = _p("yellow text instead of white")
    p_weight: float | None = _p("a random weight (variable fonts)")
    p_letter_spacing: float | None = _p("extra letter spacing")
    p_scaled_stroke: float | None = _p("a stroke scaled to the font size instead of the 1 px outline")
    p_shadow: float | None = _p("a soft drop shadow")
    p_box: float | None = _p("a translucent box behind the subtitle")
    p_logo: float | None = _p("a station logo in a top corner")
    p_title: float | None = _p("a coloured title near the top")
    p_caption: float | None = _p("a coloured caption away from the subtitle")
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
        return dataclasses.replace(base, **over)

    def identity(self) -> dict:
        """Settings that decide the frames' content: a resumed run must match them."""
        skip = {"out", "count", "workers", "progress"}
        from subtitle_vlm.config import config_to_dict

        return {k: v for k, v in config_to_dict(self).items() if k not in skip}
