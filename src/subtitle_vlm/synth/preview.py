"""subtitle-vlm preview --input FRAME_SET --out grid.png [--count 12] [--cols 4] [--thumb-width 320] [--boxes]

Write a labelled grid PNG of frames: each thumbnail with its file name and label (the subtitle text, or
"(no subtitle)") underneath, set in a CJK font so Chinese labels show as text. ``--boxes`` outlines every
text line a synthesised frame's record names, coloured by role (subtitle red, ticker sky blue, tag orange,
logo purple, title yellow, caption green, scene text grey). Works on any frame set or folder of images.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from subtitle_vlm.config import parse_config
from subtitle_vlm.io import InputError, read_frame_set, save_image_atomic


@dataclass
class PreviewConfig:
    input: str = field(default="", metadata={"help": "frame set (images + metadata.jsonl) or folder of images"})
    out: str = field(default="preview.png", metadata={"help": "output PNG"})
    count: int = field(default=12, metadata={"help": "frames to show (the first N in natural order)"})
    cols: int = field(default=4, metadata={"help": "thumbnails per row"})
    thumb_width: int = field(default=320, metadata={"help": "thumbnail width in px"})
    boxes: bool = field(default=False, metadata={"help": "outline each record's text lines, coloured by role (subtitle red)"})
    font: str | None = field(default=None, metadata={"help": "font for the labels (default: a CJK font found)"})

    def validate(self) -> None:
        if not self.input:
            raise InputError("--input is required: a frame set or a folder of images")
        if self.count < 1 or self.cols < 1 or self.thumb_width < 32:
            raise InputError("--count and --cols must be >= 1 and --thumb-width >= 32")
        if self.thumb_width > 4096 or self.count > 1000:
            raise InputError("--thumb-width is at most 4096 px and --count at most 1000 (one grid image)")
        if Path(self.out).suffix.lower() != ".png":
            raise InputError(f"--out {self.out}: the preview is a PNG; name it *.png")


def _label_font(path: str | None, size: int, sample: str):
    if path:
        try:
            return ImageFont.truetype(path, size)
        except OSError as e:
            raise InputError(f"--font {path}: cannot open it as a font ({e}); pass a .ttf/.otf/.ttc file, "
                             "or leave --font out to use a CJK font found here") from None
    from subtitle_vlm.synth.fonts import discover_fonts, load_font

    fonts, _ = discover_fonts(None)
    for f in fonts:
        if f.covers(sample) or f is fonts[-1]:
            return load_font(f.path, f.index, size, 400 if f.weight_range else None)  # a variable face: not Thin
    print("preview: no CJK font found, Chinese labels will show as boxes; pass --font or "
          "pip install 'subtitle-vlm[fonts]'", file=sys.stderr)
    return ImageFont.load_default(size)


# Box colours by element role: the subtitle red, the rest in colours that tell them apart.
ROLE_COLORS = {"subtitle": (255, 0, 0), "ticker": (0, 200, 255), "tag": (255, 160, 0), "logo": (200, 0, 255),
               "title": (255, 255, 0), "caption": (0, 255, 120), "scene": (160, 160, 160)}


def _draw_boxes(thumb: Image.Image, record: dict, scale: float) -> None:
    """Each element's box in its role's colour; a record without elements outlines its subtitle box."""
    d = ImageDraw.Draw(thumb)
    boxes = []
    if record.get("size"):
        try:
            from subtitle_vlm.synth.elements import frame_elements

            boxes = [(e["box"], ROLE_COLORS.get(e["role"], (255, 255, 255))) for e in frame_elements(record)]
        except (KeyError, TypeError, ValueError, OSError):
            boxes = []  # not a synth record: fall back to the subtitle box, if any
    if not boxes and (record.get("subtitle") or {}).get("bbox"):
        boxes = [(record["subtitle"]["bbox"], ROLE_COLORS["subtitle"])]
    for box, color in sorted(boxes, key=lambda b: b[1] == ROLE_COLORS["subtitle"]):  # subtitle on top
        d.rectangle([round(v * scale) for v in box], outline=color, width=1 if color != ROLE_COLORS["subtitle"] else 2)


def _fit(draw, text: str, font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def make_grid(frames, cfg: PreviewConfig) -> Image.Image:
    tw = cfg.thumb_width
    thumbs = []
    for fr in frames:
        try:
            with Image.open(fr.path) as im:
                im = im.convert("RGB")
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
            print(f"preview: skipping {fr.path}: {e}", file=sys.stderr)
            continue
        scale = tw / im.width
        th = max(1, round(im.height * scale))
        thumb = im.resize((tw, th), Image.Resampling.LANCZOS)
        if cfg.boxes and fr.record:
            _draw_boxes(thumb, fr.record, scale)
        thumbs.append((fr, thumb))
    if not thumbs:
        raise InputError(f"{cfg.input}: no readable frame to show")
    label_size = max(12, tw // 18)
    sample = "".join((fr.text or "") for fr, _ in thumbs)
    font = _label_font(cfg.font, label_size, sample)
    th = max(t.height for _, t in thumbs)
    cell_h = th + 2 * (label_size + 6) + 8
    cols = min(cfg.cols, len(thumbs))
    rows = math.ceil(len(thumbs) / cols)
    pad = 8
    grid = Image.new("RGB", (cols * (tw + pad) + pad, rows * (cell_h + pad) + pad), (24, 24, 24))
    d = ImageDraw.Draw(grid)
    for k, (fr, thumb) in enumerate(thumbs):
        x = pad + (k % cols) * (tw + pad)
        y = pad + (k // cols) * (cell_h + pad)
        grid.paste(thumb, (x, y))
        label = fr.text if fr.text else ("(no subtitle)" if fr.text == "" else "(no label)")
        d.text((x, y + th + 4), _fit(d, fr.path.name, font, tw), font=font, fill=(150, 150, 150))
        d.text((x, y + th + 4 + label_size + 6), _fit(d, label, font, tw), font=font, fill=(255, 255, 255))
    return grid


def write_preview(cfg: PreviewConfig) -> Path:
    frames = read_frame_set(cfg.input)[: cfg.count]
    if not frames:
        raise InputError(f"{cfg.input}: holds no frames")
    grid = make_grid(frames, cfg)
    out = Path(cfg.out)
    save_image_atomic(grid, out, optimize=True)
    return out


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(PreviewConfig, argv, prog="subtitle-vlm preview", description=__doc__)
    out = write_preview(cfg)
    print(f"preview: wrote {out}", file=sys.stderr)
    return 0
