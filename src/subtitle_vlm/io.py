"""Files the pipeline reads and writes: atomic writes, JSONL, Kaggle CSVs, frame sets, image listing.

Everything written here is written whole or not at all (temp file + rename), so a crash never leaves a
truncated image, a half JSON line or a half CSV row behind.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

_UMASK = os.umask(0)
os.umask(_UMASK)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
METADATA_NAME = "metadata.jsonl"


class InputError(ValueError):
    """Bad user input: the message names the file (and line or record) and what to change."""


def natural_key(s: str) -> list:
    """Sort key that orders ``video3_2`` before ``video3_10``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)]


# ---------------------------------------------------------------- atomic writes
@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = None):
    """Open a temp file beside ``path``; rename it over ``path`` only if the block finishes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    binary = "b" in mode
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding, newline=None if binary else newline) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes 0600 files; outputs should get the usual permissions (umask applied).
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w") as f:
        f.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=indent) + "\n")


def save_image_atomic(image, path: str | os.PathLike, **save_kwargs) -> None:
    """Encode a PIL image in memory, then write it atomically (no truncated JPEG after a crash)."""
    path = Path(path)
    buf = io.BytesIO()
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP"}[path.suffix.lower()]
    image.save(buf, format=fmt, **save_kwargs)
    atomic_write_bytes(path, buf.getvalue())


# ---------------------------------------------------------------- JSONL
def read_jsonl(path: str | os.PathLike, *, tolerate_partial_last_line: bool = False) -> list[dict]:
    """Read a JSONL file; a bad line raises InputError naming file and line.

    ``tolerate_partial_last_line`` drops an unterminated last line (a crash mid-append) instead of failing.
    """
    path = Path(path)
    rows: list[dict] = []
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        last_unterminated = i == len(lines) and not raw.endswith(b"\n")
        try:
            obj = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            if tolerate_partial_last_line and last_unterminated:
                break
            raise InputError(f"{path}:{i}: not a valid UTF-8 JSON line ({e}); fix or remove that line") from None
        if not isinstance(obj, dict):
            raise InputError(f"{path}:{i}: expected a JSON object, got {type(obj).__name__}")
        rows.append(obj)
    return rows


def append_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> None:
    """Append whole lines with one write + fsync, so a crash leaves at most one partial last line."""
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if not data:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> None:
    with atomic_open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def repair_jsonl_tail(path: str | os.PathLike) -> int:
    """Cut an unterminated last line left by a crash; returns the number of bytes removed."""
    path = Path(path)
    if not path.exists():
        return 0
    raw = path.read_bytes()
    if not raw or raw.endswith(b"\n"):
        return 0
    keep = raw.rfind(b"\n") + 1
    with open(path, "r+b") as f:
        f.truncate(keep)
    return len(raw) - keep


# ---------------------------------------------------------------- Kaggle CSV (id,text)
def read_csv_predictions(path: str | os.PathLike) -> dict[str, str]:
    """Read an ``id,text`` CSV into {id: text}; a duplicate id or a bad header is an InputError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 ({e}); save it as UTF-8") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e}); check the path") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    out: dict[str, str] = {}
    header = next(reader, None)
    if header is None:
        return out
    if [h.strip().lower() for h in header[:2]] != ["id", "text"]:
        raise InputError(f"{path}:1: expected the header 'id,text', got {','.join(header)!r}")
    for lineno, row in enumerate(reader, 2):
        if not row:
            continue
        if len(row) < 2:
            row = row + [""]
        rid, txt = row[0], row[1]
        if rid in out:
            raise InputError(f"{path}:{lineno}: id {rid!r} appears twice; keep one row per id")
        out[rid] = txt
    return out


def write_csv_predictions(path: str | os.PathLike, rows: dict[str, str] | Iterable[tuple[str, str]]) -> None:
    """Write the Kaggle CSV atomically, ids in natural order."""
    items = list(rows.items()) if isinstance(rows, dict) else list(rows)
    items.sort(key=lambda kv: natural_key(kv[0]))
    with atomic_open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "text"])
        w.writerows(items)


def format_csv_rows(rows: Iterable[tuple[str, str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


# ---------------------------------------------------------------- frame sets and image folders
@dataclass
class Frame:
    """One frame to read: its id (file stem), path, and the gold text when known."""

    id: str
    path: Path
    text: str | None = None
    record: dict | None = None


def list_images(folder: str | os.PathLike, recursive: bool = True) -> list[Path]:
    folder = Path(folder)
    it: Iterator[Path] = folder.rglob("*") if recursive else folder.iterdir()
    return sorted((p for p in it if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                  key=lambda p: natural_key(str(p.relative_to(folder))))


def read_frame_set(folder: str | os.PathLike) -> list[Frame]:
    """Frames of a frame set (``metadata.jsonl``) or, failing that, every image in a folder, natural order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder; pass a frame set or a folder of images")
    meta = folder / METADATA_NAME
    frames: list[Frame] = []
    if meta.exists():
        for i, rec in enumerate(read_jsonl(meta, tolerate_partial_last_line=True), 1):
            if "file_name" not in rec:
                raise InputError(f"{meta}:{i}: record has no 'file_name'")
            p = folder / rec["file_name"]
            frames.append(Frame(id=Path(rec["file_name"]).stem, path=p, text=rec.get("text"), record=rec))
    else:
        frames = [Frame(id=p.stem, path=p) for p in list_images(folder)]
    seen: dict[str, Path] = {}
    for fr in frames:
        if fr.id in seen:
            raise InputError(f"{folder}: two frames share the id {fr.id!r} ({seen[fr.id]} and {fr.path}); "
                             "ids are file stems and must be unique")
        seen[fr.id] = fr.path
    frames.sort(key=lambda f: natural_key(f.id))
    return frames


def check_writable_dir(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and prove it is writable, with a message that says what to change."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as e:
        raise InputError(f"{folder}: cannot write there ({e.strerror or e}); choose another --out folder") from None
    return folder
