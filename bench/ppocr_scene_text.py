""".venv/bin/python bench/ppocr_scene_text.py --out bench/_data/scene_text_backgrounds [--variants 4 --seed 0]

Photographs with scene text painted in beforehand, the stress test of the PP-OCR selection benchmark
(``ppocr_accuracy.py --scene-text painted``; the hard synthesis preset has scene text of its own, placed clear
of the subtitle - ``synth/scene_text.py``). Here the text is painted before the subtitle is placed, so it may
sit under it. Each photograph the installed packages ship (scikit-image, matplotlib, scikit-learn; see
``synth.backgrounds``) is written once as it is and ``--variants`` times with scene text painted in - shop signs (dark letters on light plates, light letters
on coloured plates), Latin fragments (EXIT, OPEN, SALE 50% ...), plain light lettering with no outline
(painted walls, shirts) and small poster lines - anywhere in the frame, often low and near the centre where
a naive selector looks for subtitles. None of it is outlined the way subtitles are. The folder is then
used as ``SynthConfig.backgrounds`` so the hard synthesis draws subtitles, logos and titles over it.
Prints one JSON line (what was written).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from subtitle_vlm.synth.scene_text import LATIN_WORDS, PLAIN_COLORS, PLATES, SIGN_WORDS, ink_on


def _font_path() -> str:
    from subtitle_vlm.synth.fonts import wheel_font_files

    files = [str(p) for p in wheel_font_files()]
    if not files:
        raise SystemExit("no CJK font wheel found: pip install manimgx-fonts-cjk")
    return files[0]


def _draw_item(img: Image.Image, rng, font_path: str) -> dict:
    W, H = img.size
    kind = str(rng.choice(["sign", "sign", "latin", "plain", "poster"]))
    size = int(rng.integers(int(0.035 * H), int(0.12 * H)))
    font = ImageFont.truetype(font_path, size)
    if kind == "latin":
        text = str(rng.choice(LATIN_WORDS))
    elif kind == "poster":
        size = int(rng.integers(int(0.025 * H), int(0.05 * H)))
        font = ImageFont.truetype(font_path, size)
        text = "\n".join(str(rng.choice(SIGN_WORDS)) + str(rng.choice(SIGN_WORDS)) for _ in range(int(rng.integers(2, 4))))
    else:
        text = str(rng.choice(SIGN_WORDS))
    layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    tb = d.multiline_textbbox((0, 0), text, font=font, spacing=int(size * 0.3))
    tw, th = tb[2] - tb[0], tb[3] - tb[1]
    pad = int(size * 0.35)
    # Half the items sit low and near the middle, where subtitles are.
    if rng.random() < 0.5:
        cx = W / 2 + rng.normal(0, 0.12 * W)
        cy = rng.uniform(0.55, 0.95) * H
    else:
        cx, cy = rng.uniform(0.1, 0.9) * W, rng.uniform(0.1, 0.95) * H
    x, y = int(cx - tw / 2), int(cy - th / 2)
    plate = None
    if kind in ("sign", "latin", "poster") and rng.random() < 0.8:
        plate = PLATES[int(rng.integers(len(PLATES)))]
        d.rectangle((x - pad, y - pad, x + tw + pad, y + th + pad), fill=plate + (255,))
        color = tuple(ink_on(plate))
    else:  # lettering straight on the scene: any colour, no outline
        color = tuple(int(v) for v in rng.choice(PLAIN_COLORS))
    d.multiline_text((x - tb[0], y - tb[1]), text, font=font, fill=color + (255,), spacing=int(size * 0.3))
    angle = float(rng.uniform(-8, 8)) if rng.random() < 0.5 else 0.0
    if angle:
        layer = layer.rotate(angle, resample=Image.Resampling.BICUBIC, center=(cx, cy))
    img.alpha_composite(layer)
    return {"kind": kind, "text": text, "plate": plate, "color": color, "angle": round(angle, 2)}


def make_backgrounds(out: Path, variants: int = 4, seed: int = 0, size: tuple[int, int] = (1280, 720)) -> dict:
    from subtitle_vlm.io import save_image_atomic
    from subtitle_vlm.synth.backgrounds import builtin_photo_refs, fit_background, open_background

    out.mkdir(parents=True, exist_ok=True)
    font_path = _font_path()
    refs = builtin_photo_refs()
    if not refs:
        raise SystemExit("no photographs found: install scikit-image (or matplotlib / scikit-learn)")
    written, items = 0, 0
    for i, ref in enumerate(refs):
        photo = fit_background(open_background(ref), *size)
        stem = ref.split("/")[-1].rsplit(".", 1)[0]
        plain = out / f"{stem}.jpg"
        if not plain.exists():
            save_image_atomic(photo, plain, quality=92)
        written += 1
        for v in range(variants):
            path = out / f"{stem}_text{v}.jpg"
            rng = np.random.default_rng([seed, i, v])
            img = photo.convert("RGBA")
            n = int(rng.integers(1, 4))
            for _ in range(n):
                _draw_item(img, rng, font_path)
            items += n
            if not path.exists():
                save_image_atomic(img.convert("RGB"), path, quality=92)
            written += 1
    return {"folder": str(out), "photos": len(refs), "images": written, "scene_text_items": items}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="bench/_data/scene_text_backgrounds")
    p.add_argument("--variants", type=int, default=4, help="versions with scene text per photograph")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    print(json.dumps(make_backgrounds(Path(a.out), a.variants, a.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
