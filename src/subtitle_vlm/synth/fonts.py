"""Font discovery, glyph coverage (fontTools cmap), font groups and cached PIL font objects.

Where fonts come from: the paths given (files or folders, recursive); without paths, every CJK font this
machine has: the font wheels installed in this environment (``manimgx-fonts-cjk``,
``cvttf-notosanscjk-regular``) plus the system's Chinese fonts (``fc-list :lang=zh``, or the system font
folders where fontconfig is missing), keeping the faces that cover common Traditional Chinese characters.
Each face of a ``.ttc`` collection is its own font (path + index); a face whose name an earlier file
already gave is left out. A font that fontTools or FreeType cannot open is skipped with its reason.

``font_group(font)`` sorts a face into a typeface group (``sans``, ``serif_ming``, ``kai``, ``round``,
``other``) by its name and file name, so experiments can leave a group out.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
# Wheels that carry CJK fonts; their files sit beside the package's __init__.py.
FONT_WHEEL_PACKAGES = ("manimgx_fonts_cjk", "cvttf_NotoSansCJK_Regular")
# A font that lacks these cannot set Traditional Chinese subtitles; used to filter system fonts.
CJK_PROBE = "的一是不了人我這們來說會個"
_TRADITIONAL_FACE_TAGS = (" TC", " HK", " TW", "Traditional", " CHT", "-TC", "-HK", "-TW")
FONT_GROUPS = ("sans", "serif_ming", "kai", "round", "other")
# Name fragments per group, tried in this order (a Kai face's name never says serif; a rounded face may say
# sans, so round comes before sans).
_GROUP_HINTS = (
    ("kai", ("kai", "楷", "biau")),
    ("round", ("round", "yuan", "圓", "圆", "maru")),
    ("serif_ming", ("serif", "ming", "song", "sung", "mincho", "明", "宋")),
    ("sans", ("sans", "hei", "黑", "gothic", "gyoshi")),
)


def font_group(font) -> str:
    """Typeface group of a font: a ``FontInfo``, a record's font dict (``name``, ``path``) or a name."""
    if isinstance(font, str):
        name, path = font, ""
    elif isinstance(font, dict):
        name, path = str(font.get("name", "")), str(font.get("path", ""))
    else:
        name, path = str(font.name), str(font.path)
    hay = f"{name} {Path(path).stem}".lower()
    for group, hints in _GROUP_HINTS:
        if any(h in hay for h in hints):
            return group
    return "other"


@dataclass(frozen=True)
class FontInfo:
    """One face: file, face index in a collection, name, weight axis and the code points it maps."""

    path: str
    index: int
    name: str
    weight_range: tuple[int, int] | None  # wght axis of a variable font; None for a static face
    codepoints: frozenset = field(repr=False, compare=False, hash=False)

    def covers(self, text: str) -> bool:
        return all(ord(c) in self.codepoints for c in text if c not in "\n\r\t")

    def missing(self, text: str) -> str:
        return "".join(sorted({c for c in text if c not in "\n\r\t" and ord(c) not in self.codepoints}))


def _system_font_dirs() -> list[Path]:
    home = Path.home()
    dirs = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), home / ".fonts", home / ".local/share/fonts"]
    if sys.platform == "darwin":
        dirs += [Path("/System/Library/Fonts"), Path("/Library/Fonts"), home / "Library/Fonts"]
    if os.name == "nt":
        dirs += [Path(os.environ.get("WINDIR", "C:/Windows")) / "Fonts"]
    return [d for d in dirs if d.is_dir()]


def wheel_font_files() -> list[Path]:
    """Font files shipped inside installed font wheels (never downloaded)."""
    out: list[Path] = []
    for pkg in FONT_WHEEL_PACKAGES:
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.origin:
            continue
        folder = Path(spec.origin).parent
        out += sorted(p for p in folder.iterdir() if p.suffix.lower() in FONT_SUFFIXES)
    return out


def system_cjk_font_files() -> list[Path]:
    """Font files fontconfig lists for Chinese (``fc-list :lang=zh``); without fontconfig, every font file
    in the system font folders (the coverage probe then keeps the CJK ones)."""
    import shutil
    import subprocess

    if shutil.which("fc-list"):
        try:
            r = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            r = None
        if r is not None and r.returncode == 0:
            files = {Path(ln.strip().rstrip(":")) for ln in r.stdout.splitlines() if ln.strip()}
            return sorted(p for p in files if p.suffix.lower() in FONT_SUFFIXES and p.is_file())
    files, _ = _expand([str(d) for d in _system_font_dirs()])
    return files


def _expand(paths: list[str]) -> tuple[list[Path], list[tuple[str, str]]]:
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    for p in paths:
        path = Path(p).expanduser()
        if path.is_dir():
            found = sorted(q for q in path.rglob("*") if q.is_file() and q.suffix.lower() in FONT_SUFFIXES)
            if not found:
                skipped.append((str(path), "folder holds no .ttf/.otf/.ttc files"))
            files += found
        elif path.is_file():
            files.append(path)
        else:
            skipped.append((str(path), "not found"))
    return files, skipped


def _cache_dir() -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    d = Path(base) / "subtitle-vlm" / "font-coverage"
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return d


def _to_ranges(cps) -> list[list[int]]:
    out: list[list[int]] = []
    for c in sorted(cps):
        if out and c == out[-1][1] + 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def _from_ranges(ranges) -> frozenset:
    return frozenset(c for a, b in ranges for c in range(a, b + 1))


def _faces_of(path: str, fonts: list, faces: str) -> list[tuple]:
    named = []
    for i, tt in enumerate(fonts):
        name = tt["name"].getDebugName(4) or Path(path).stem
        family = tt["name"].getDebugName(1) or name
        named.append((i, name, family, tt))
    if faces == "auto" and len(named) > 1:
        named = [f for f in named if any(t in f[1] or t in f[2] for t in _TRADITIONAL_FACE_TAGS)] or named
    out = []
    for i, name, _family, tt in named:
        cmap = tt.getBestCmap()
        if not cmap:
            raise ValueError(f"face {i} has no Unicode cmap")
        wr = None
        if "fvar" in tt:
            for ax in tt["fvar"].axes:
                if ax.axisTag == "wght":
                    wr = (int(ax.minValue), int(ax.maxValue))
        out.append((i, name, wr, frozenset(cmap)))
    return out


@lru_cache(maxsize=256)
def _read_faces(path: str, mtime_ns: int, size: int, faces: str) -> tuple:
    """(index, name, weight_range, codepoints) per chosen face; cached in memory and on disk per file version
    (decoding a CJK cmap with fontTools takes ~0.1 s per face)."""
    import hashlib
    import json

    key = hashlib.sha256(f"{path}|{mtime_ns}|{size}|{faces}|v1".encode()).hexdigest()[:24]
    cache = _cache_dir()
    cfile = cache / f"{key}.json" if cache else None
    if cfile and cfile.is_file():
        try:
            data = json.loads(cfile.read_text(encoding="utf-8"))
            return tuple((f["index"], f["name"], tuple(f["wght"]) if f["wght"] else None, _from_ranges(f["ranges"]))
                         for f in data)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged cache entry is rebuilt below
    from fontTools.ttLib import TTCollection, TTFont

    # lazy=True keeps the file open until close(): read what we need, then close every face.
    if path.lower().endswith((".ttc", ".otc")):
        opened = TTCollection(path, lazy=True)
        fonts = list(opened.fonts)
    else:
        opened = TTFont(path, lazy=True)
        fonts = [opened]
    try:
        out = _faces_of(path, fonts, faces)
    finally:
        opened.close()
    if cfile:
        from subtitle_vlm.io import InputError, atomic_write_text

        try:
            atomic_write_text(cfile, json.dumps([{"index": i, "name": n, "wght": list(w) if w else None,
                                                  "ranges": _to_ranges(c)} for i, n, w, c in out]))
        except (OSError, InputError):
            pass  # no cache, just slower next time
    return tuple(out)


def read_font(path: Path, faces: str = "auto") -> list[FontInfo]:
    """Faces of one file usable by both fontTools and FreeType; raises ValueError with the reason."""
    from PIL import ImageFont

    st = path.stat()
    try:
        chosen = _read_faces(str(path.resolve()), st.st_mtime_ns, st.st_size, faces)
    except Exception as e:  # fontTools raises many types for a damaged or foreign file
        raise ValueError(f"fontTools cannot read it ({type(e).__name__}: {e})") from None
    out = []
    for i, name, wr, cps in chosen:
        try:
            ImageFont.truetype(str(path.resolve()), 20, index=i)
        except OSError as e:
            raise ValueError(f"FreeType cannot open face {i} ({e})") from None
        out.append(FontInfo(str(path.resolve()), i, name, wr, cps))
    return out


def discover_fonts(paths: list[str] | None = None, faces: str = "auto") -> tuple[list[FontInfo], list[tuple[str, str]]]:
    """Fonts from ``paths`` (files/folders), else the wheels' and the system's CJK fonts;
    returns (fonts, [(path, reason)])."""
    skipped: list[tuple[str, str]] = []
    if paths:
        files, skipped = _expand(list(paths))
        wheels: set[Path] = set()
    else:
        wheels = set(wheel_font_files())
        files = sorted(wheels) + [p for p in system_cjk_font_files() if p not in wheels]
    fonts: list[FontInfo] = []
    seen: set[tuple[str, int]] = set()
    names: set[str] = set()
    for f in files:
        try:
            infos = read_font(f, faces)
        except (ValueError, OSError) as e:
            if paths or f in wheels:  # a broken system font is not the user's concern
                skipped.append((str(f), str(e)))
            continue
        for info in infos:
            if (info.path, info.index) in seen:
                continue
            # system fonts: only faces with Traditional Chinese glyphs, and each face name once
            if not paths and f not in wheels and (not info.covers(CJK_PROBE) or info.name in names):
                continue
            seen.add((info.path, info.index))
            names.add(info.name)
            fonts.append(info)
    return fonts, skipped


# A CJK face costs about 1-2 MB in FreeType and under 1 ms to open: 64 cached keeps a worker's fonts under
# ~120 MB (512 grew to ~800 MB over long runs with many sizes and weights).
@lru_cache(maxsize=64)
def load_font(path: str, index: int, size: int, weight: int | None = None):
    """A PIL font at ``size`` px; ``weight`` sets a variable font's wght axis (variable fonts default to
    their lightest instance otherwise, so a variable face without a weight gets 400)."""
    from PIL import ImageFont

    font = ImageFont.truetype(path, size, index=index)
    if weight is not None:
        _set_weight(font, weight)
    return font


def _set_weight(font, weight: int) -> None:
    axes = font.get_variation_axes()
    values = []
    for ax in axes:
        name = ax.get("name", b"")
        name = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        if name.lower() in ("weight", "wght"):
            values.append(max(ax["minimum"], min(ax["maximum"], weight)))
        else:
            values.append(ax.get("default", ax["minimum"]))
    font.set_variation_by_axes(values)


def font_for_record(font_ref: dict, size: int):
    """The PIL font a record names (``{"path", "index", "weight"}``)."""
    return load_font(font_ref["path"], int(font_ref.get("index", 0)), int(size), font_ref.get("weight"))
