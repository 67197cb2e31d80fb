"""Backgrounds: a user folder, or built-in procedural scenes and photographs that installed packages ship.

A background is named by a *ref* string that a record stores, so a frame re-renders from its record alone:

- a file path (a user folder's image),
- ``scene:K`` - procedural scene number K (drawn from K alone: sky, city, hills, room, bokeh),
- ``photo:PKG/FILE`` - a photograph inside an installed package (scikit-image's data folder, matplotlib's
  sample data, scikit-learn's sample images); nothing is ever downloaded.

Per frame a background is scaled to cover the output size times a zoom, then cropped at an offset,
maybe mirrored and tone-adjusted. The covering images are cached per process (decode + resize happen
once per background and zoom), which is most of what makes synthesis faster than the naive loop.
"""

from __future__ import annotations

import importlib.util
import math
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from subtitle_vlm.io import InputError, list_images

N_SCENES = 24
_SCENE_BASE = (960, 540)

# package (top-level module) -> folder inside it, and the photographs we use from it.
_PHOTO_SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "skimage": ("data", ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
                         "hubble_deep_field.jpg", "camera.png", "grass.png", "gravel.png", "brick.png")),
    "matplotlib": ("mpl-data/sample_data", ("grace_hopper.jpg",)),
    "sklearn": ("datasets/images", ("china.jpg", "flower.jpg")),
}


def _package_dir(pkg: str) -> Path | None:
    # find_spec of a top-level name does not import it (scikit-learn is slow to import).
    spec = importlib.util.find_spec(pkg)
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent


def builtin_photo_refs() -> list[str]:
    refs = []
    for pkg, (sub, names) in _PHOTO_SOURCES.items():
        base = _package_dir(pkg)
        if base is None:
            continue
        refs += [f"photo:{pkg}/{n}" for n in names if (base / sub / n).is_file()]
    return refs


def builtin_refs(kind: str = "all") -> list[str]:
    """Built-in background refs: ``all``, ``photos`` (falls back to scenes when none is installed) or ``scenes``."""
    scenes = [f"scene:{k}" for k in range(N_SCENES)]
    photos = builtin_photo_refs()
    if kind == "scenes":
        return scenes
    if kind == "photos":
        return photos or scenes
    return photos + scenes


def _resolve_photo(ref: str) -> Path:
    pkg, name = ref[len("photo:"):].split("/", 1)
    base = _package_dir(pkg)
    if base is None or pkg not in _PHOTO_SOURCES:
        raise InputError(f"background {ref!r}: package {pkg!r} is not installed here")
    return base / _PHOTO_SOURCES[pkg][0] / name


def check_image(path: Path) -> str | None:
    """None if ``path`` decodes completely, else the reason (truncated, not an image, too small...)."""
    try:
        with Image.open(path) as im:
            w, h = im.size
            if w < 16 or h < 16:
                return f"too small ({w}x{h})"
            im.draft("RGB", (max(16, w // 8), max(16, h // 8)))  # JPEG: decode scaled, still reads every byte
            im.load()
    except Exception as e:  # PIL raises OSError, SyntaxError, ValueError, DecompressionBombError...
        return f"{type(e).__name__}: {e}"
    return None


def scan_folder(folder: str | Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Usable images under ``folder`` (recursive, natural order) and the skipped ones with reasons."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: backgrounds folder not found; pass --backgrounds DIR or leave it out "
                         "for the built-in backgrounds")
    good, skipped = [], []
    for p in list_images(folder):
        reason = check_image(p)
        if reason:
            skipped.append((str(p), reason))
        else:
            good.append(str(p.resolve()))
    if not good:
        detail = "; ".join(f"{p}: {r}" for p, r in skipped[:5])
        raise InputError(f"{folder}: no usable background image (jpg/png/webp/bmp) found"
                         + (f" ({len(skipped)} skipped: {detail})" if skipped else ""))
    return good, skipped


# ---------------------------------------------------------------- procedural scenes
@lru_cache(maxsize=N_SCENES)
def procedural_scene(k: int, size: tuple[int, int] = _SCENE_BASE) -> Image.Image:
    """Scene number ``k``: a deterministic picture with TV-like structure (horizon, edges, highlights).
    Cached (about 1.5 MB each; drawing one takes ~0.1 s); callers must not modify the image."""
    w, h = size
    rng = np.random.default_rng(1_000_003 + k)
    kind = k % 5
    top = rng.integers(40, 200, 3)
    bottom = rng.integers(20, 230, 3)
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    arr = (top[None, None, :] * (1 - t) + bottom[None, None, :] * t) * np.ones((1, w, 1), np.float32)
    img = Image.fromarray(arr.astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)

    def col(lo=0, hi=255):
        return tuple(int(v) for v in rng.integers(lo, hi, 3))

    if kind == 0:  # city: buildings with lit windows
        for _ in range(int(rng.integers(8, 16))):
            bw, bh = int(rng.integers(50, 160)), int(rng.integers(h // 4, h - 40))
            x = int(rng.integers(-20, w - 20))
            c = col(20, 140)
            d.rectangle([x, h - bh, x + bw, h], fill=c)
            for wy in range(h - bh + 10, h - 10, 22):
                for wx in range(x + 8, x + bw - 10, 18):
                    if rng.random() < 0.5:
                        d.rectangle([wx, wy, wx + 8, wy + 12], fill=col(150, 255))
    elif kind == 1:  # hills and trees
        for layer in range(3):
            base = int(h * (0.45 + 0.15 * layer))
            xs = np.arange(0, w + 40, 40)
            ys = base + 40 * np.sin(xs / rng.uniform(60, 200) + rng.uniform(0, 6)) + rng.normal(0, 8, len(xs))
            d.polygon([(0, h)] + [(int(x), int(y)) for x, y in zip(xs, ys)] + [(w, h)], fill=col(30, 160))
        for _ in range(int(rng.integers(5, 15))):
            x, y, r = int(rng.integers(0, w)), int(rng.integers(h // 2, h)), int(rng.integers(15, 50))
            d.ellipse([x - r, y - 2 * r, x + r, y], fill=col(10, 120))
    elif kind == 2:  # room: wall, floor, furniture, a window
        floor_y = int(rng.integers(h // 2, 3 * h // 4))
        d.rectangle([0, floor_y, w, h], fill=col(60, 200))
        wx = int(rng.integers(50, w - 300))
        d.rectangle([wx, 60, wx + 220, 60 + 160], fill=col(180, 255), outline=col(0, 80), width=8)
        for _ in range(int(rng.integers(3, 7))):
            x, y = int(rng.integers(0, w - 100)), int(rng.integers(floor_y - 150, floor_y + 40))
            d.rectangle([x, y, x + int(rng.integers(60, 240)), y + int(rng.integers(40, 180))], fill=col(20, 200))
    elif kind == 3:  # bokeh lights
        for _ in range(int(rng.integers(30, 70))):
            x, y, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(8, 60))
            d.ellipse([x - r, y - r, x + r, y + r], fill=col(80, 255))
        img = img.filter(ImageFilter.GaussianBlur(6))
    else:  # studio / news desk: bands and panels
        for _ in range(int(rng.integers(4, 9))):
            y0 = int(rng.integers(0, h))
            d.rectangle([0, y0, w, y0 + int(rng.integers(10, 90))], fill=col(0, 255))
        for _ in range(int(rng.integers(2, 5))):
            x, y = int(rng.integers(0, w - 200)), int(rng.integers(0, h - 150))
            d.rectangle([x, y, x + int(rng.integers(120, 400)), y + int(rng.integers(80, 250))], fill=col(0, 255))
    noise = rng.normal(0.0, 6.0, (h, w, 1)).astype(np.float32)
    arr = np.clip(np.asarray(img, np.float32) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB").filter(ImageFilter.GaussianBlur(1.2))


# ---------------------------------------------------------------- loading, covering, per-frame view
@lru_cache(maxsize=32)
def _builtin_photo(ref: str) -> Image.Image:
    # The bundled photographs are small (about 0.5 Mpx): keeping them decoded makes a cover miss cheap.
    path = _resolve_photo(ref)
    if not path.is_file():
        raise InputError(f"background {ref!r}: {path} is missing; reinstall its package or pass --backgrounds")
    with Image.open(path) as im:
        return im.convert("RGB")


def open_background(ref: str, target: tuple[int, int] | None = None) -> Image.Image:
    """The RGB source picture of a ref (JPEG decoded at reduced scale when ``target`` allows it).
    Built-in sources are cached: callers must not modify the returned image."""
    if ref.startswith("scene:"):
        return procedural_scene(int(ref.split(":", 1)[1]))
    if ref.startswith("photo:"):
        return _builtin_photo(ref)
    path = Path(ref)
    try:
        im = Image.open(path)
        if target:
            im.draft("RGB", target)
        im.load()
    except FileNotFoundError:
        raise InputError(f"background {path} not found (named by a record or the backgrounds list)") from None
    return im.convert("RGB")


# Covers stay decoded per process up to a byte budget: at 1280x720 that is about 70 covers (every
# built-in background at every zoom); at 8K only a few, so a large --size cannot exhaust memory.
COVER_CACHE_BYTES = 256 * 2**20
_covers: OrderedDict[tuple, Image.Image] = OrderedDict()


def load_cover(ref: str, width: int, height: int, zoom: float) -> Image.Image:
    """``ref`` scaled to cover width x height times ``zoom`` (cached; callers must not modify it)."""
    key = (ref, width, height, zoom)
    im = _covers.get(key)
    if im is not None:
        _covers.move_to_end(key)
        return im
    tw, th = int(math.ceil(width * zoom)), int(math.ceil(height * zoom))
    im = open_background(ref, (tw, th))
    s = max(tw / im.width, th / im.height)
    size = (max(tw, int(math.ceil(im.width * s))), max(th, int(math.ceil(im.height * s))))
    if size != im.size:
        im = im.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    _covers[key] = im
    used = sum(c.width * c.height * 3 for c in _covers.values())
    while len(_covers) > 1 and used > COVER_CACHE_BYTES:
        _, old = _covers.popitem(last=False)
        used -= old.width * old.height * 3
    return im


def _tone_lut(gain: float, bias: float) -> list[int]:
    lut = [max(0, min(255, int(round(v * gain + bias)))) for v in range(256)]
    return lut * 3


def background_view(bg: dict, width: int, height: int) -> Image.Image:
    """The background of a record (``{"ref", "zoom", "offset", "flip", "gain", "bias"}``) at width x height."""
    cover = load_cover(bg["ref"], width, height, float(bg.get("zoom", 1.0)))
    fx, fy = bg.get("offset", (0.5, 0.5))
    x = int(round(fx * (cover.width - width)))
    y = int(round(fy * (cover.height - height)))
    im = cover.crop((x, y, x + width, y + height))
    if bg.get("flip"):
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    gain, bias = float(bg.get("gain", 1.0)), float(bg.get("bias", 0.0))
    if gain != 1.0 or bias != 0.0:
        im = im.point(_tone_lut(gain, bias))
    return im


def fit_background(image: Image.Image, width: int, height: int) -> Image.Image:
    """A caller's own background (e.g. a video frame) scaled and centre-cropped to width x height."""
    image = image.convert("RGB")
    if image.size == (width, height):
        return image.copy()
    s = max(width / image.width, height / image.height)
    size = (max(width, int(math.ceil(image.width * s))), max(height, int(math.ceil(image.height * s))))
    image = image.resize(size, Image.Resampling.BILINEAR)
    x, y = (image.width - width) // 2, (image.height - height) // 2
    return image.crop((x, y, x + width, y + height))
