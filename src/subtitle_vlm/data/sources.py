"""Labelled samples for export: from a frame set (``metadata.jsonl`` + images) or the original TSV
(``image_i.jpg<TAB>sentence``) plus its image folder.

Unlike ``io.read_frame_set`` (which stops at the first bad line), a bad record here is skipped and
reported with its file, line and reason, so one broken line does not cost a whole export; ``--strict``
turns skips into an error.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from subtitle_vlm.io import METADATA_NAME, InputError, iter_lines, natural_key


@dataclass(frozen=True)
class Sample:
    """One labelled frame. ``rel`` is its path relative to ``root`` (posix), ``image`` the absolute path."""

    id: str
    root: Path
    rel: str
    text: str

    @property
    def image(self) -> Path:
        return Path(os.path.abspath(self.root / self.rel))


@dataclass(frozen=True)
class Skipped:
    where: str      # "file:line"
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class LoadedSamples:
    samples: list[Sample]
    skipped: list[Skipped]
    root: Path          # the image folder every ``rel`` is relative to
    source: Path        # metadata.jsonl or the TSV


def _records(path: Path, skipped: list[Skipped], convert_hint: str):
    """(where, is_last_line, text) of each non-blank UTF-8 line; lines that are not UTF-8 become skips.
    A progress bar shows on a terminal (opening every image header takes a while on large sets)."""
    lines = list(iter_lines(path))
    for lineno, raw in tqdm(lines, desc=f"reading {path.name}", unit="rec", disable=None, leave=False):
        if not raw.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            yield where, lineno == len(lines), raw.decode("utf-8")
        except UnicodeDecodeError as e:
            skipped.append(Skipped(where, f"not UTF-8 (byte 0x{raw[e.start]:02x} at byte {e.start + 1} of the "
                                          f"line); {convert_hint}"))


def _check_rel(name: str) -> str | None:
    """Why ``name`` cannot be a frame's relative path, or None when it can."""
    if not name.strip():
        return "empty file_name"
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or os.path.isabs(name):
        return f"file_name {name!r} is absolute; write it relative to the frame set folder"
    if ".." in p.parts:
        return f"file_name {name!r} leaves the frame set folder; keep images inside it"
    return None


def _check_image(path: Path, verify: bool) -> str | None:
    if path.is_dir():
        return f"image is a folder, not a file: {path}"
    if not path.is_file():
        return f"image not found: {path}"
    if verify:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as im:
                w, h = im.size
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
            return f"not a readable image: {path} ({e.__class__.__name__})"
        if w < 1 or h < 1:
            return f"image has no pixels: {path}"
    return None


def _text_problem(text) -> str | None:
    if not isinstance(text, str):
        return "no 'text' label (use \"\" for a frame without subtitle)" if text is None else \
            f"'text' must be a string, got {type(text).__name__}"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "'text' is not valid Unicode (lone surrogate escape)"
    return None


def _add(samples: list[Sample], skipped: list[Skipped], seen: dict[str, str], where: str, root: Path,
         rel: str, text, verify: bool) -> None:
    why = _check_rel(rel) or _text_problem(text)
    rel = PurePosixPath(rel.replace("\\", "/")).as_posix() if not why else rel
    sid = PurePosixPath(rel).stem
    if not why and sid in seen:
        why = f"duplicate id: {sid!r} is already used at {seen[sid]}; ids (file stems) must be unique"
    if not why:
        why = _check_image(root / rel, verify)
    if why:
        skipped.append(Skipped(where, why))
        return
    seen[sid] = where
    samples.append(Sample(id=sid, root=root, rel=rel, text=text))


def load_frame_set(folder: Path, verify_images: bool = True) -> LoadedSamples:
    meta = folder / METADATA_NAME
    if not meta.is_file():
        raise InputError(f"{folder}: no {METADATA_NAME}; a dataset needs labels: pass a frame set made by "
                         "`subtitle-vlm synth`, or the original TSV file with --images")
    samples: list[Sample] = []
    skipped: list[Skipped] = []
    seen: dict[str, str] = {}
    for where, last, line in _records(meta, skipped, "save the file as UTF-8"):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            skipped.append(Skipped(where, "truncated last line (an interrupted write?)" if last
                                   else f"not valid JSON ({e.msg} at column {e.colno})"))
            continue
        if not isinstance(rec, dict):
            skipped.append(Skipped(where, f"expected a JSON object, got {type(rec).__name__}"))
            continue
        name = rec.get("file_name")
        if not isinstance(name, str):
            skipped.append(Skipped(where, "no 'file_name' string"))
            continue
        _add(samples, skipped, seen, where, folder, name, rec.get("text"), verify_images)
    return LoadedSamples(samples, skipped, folder, meta)


def load_tsv(tsv: Path, images: Path | None = None, verify_images: bool = True) -> LoadedSamples:
    root = Path(os.path.abspath(images if images else tsv.parent))
    if not root.is_dir():
        raise InputError(f"{root}: image folder not found; pass --images FOLDER holding the TSV's images")
    samples: list[Sample] = []
    skipped: list[Skipped] = []
    seen: dict[str, str] = {}
    for where, _, line in _records(tsv, skipped, "convert the file, e.g. iconv -f BIG5 -t UTF-8"):
        if "\t" not in line:
            skipped.append(Skipped(where, "expected 'image_name<TAB>sentence'"))
            continue
        name, text = line.split("\t", 1)
        _add(samples, skipped, seen, where, root, name.strip(), text.strip(), verify_images)
    return LoadedSamples(samples, skipped, root, tsv)


def load_samples(input_path: str | Path, images: str | Path | None = None,
                 verify_images: bool = True) -> LoadedSamples:
    """Samples from a frame set folder or a TSV file, in natural id order, with the records skipped."""
    path = Path(os.path.abspath(input_path))
    if path.is_dir():
        if images:
            raise InputError(f"--images is only for a TSV input; {path} is a frame set folder")
        loaded = load_frame_set(path, verify_images)
    elif path.is_file():
        if path.suffix.lower() not in (".tsv", ".txt"):
            raise InputError(f"{path}: expected a frame set folder or a .tsv file (name<TAB>sentence)")
        loaded = load_tsv(path, Path(images) if images else None, verify_images)
    else:
        raise InputError(f"{path}: not found; --input takes a frame set folder or a TSV file")
    loaded.samples.sort(key=lambda s: natural_key(s.id))
    return loaded
