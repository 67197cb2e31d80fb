"""Files the pipeline reads and writes: atomic writes, JSONL, Kaggle CSVs, frame sets, image listing.

Everything written here is written whole or not at all (temp file + rename), so a crash never leaves a
truncated image, a half JSON line or a half CSV row behind.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
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
def _blocked(path: Path, e: OSError) -> InputError:
    """The message for an output that cannot be written: what is in the way and what to do."""
    why = e.strerror or str(e)
    if isinstance(e, IsADirectoryError) or path.is_dir():
        why = "a folder of that name is in the way"
    elif isinstance(e, (FileExistsError, NotADirectoryError)):
        why = f"a file in the path is in the way ({why})"
    return InputError(f"{path}: cannot write it ({why}); move that away or choose another output path")


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = None):
    """Open a temp file beside ``path``; rename it over ``path`` only if the block finishes.

    A path that cannot be written (a folder or file in the way, no space, a read-only place) raises
    InputError naming it; errors raised inside the block pass through unchanged.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise _blocked(path, e) from None
    binary = "b" in mode
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding, newline=None if binary else newline) as f:
            yield f
            try:
                f.flush()
                os.fsync(f.fileno())
            except OSError as e:  # ENOSPC and friends surface here at the latest
                raise _blocked(path, e) from None
        try:
            # mkstemp makes 0600 files; outputs should get the usual permissions (umask applied).
            os.chmod(tmp, 0o666 & ~_UMASK)
            os.replace(tmp, path)
        except OSError as e:
            raise _blocked(path, e) from None
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


# ---------------------------------------------------------------- outputs: inputs, formats, other files, locks
def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file (also through links, ``..`` and relative paths)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes, read in 1 MB chunks (model files run to tens of MB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_output(path: str | os.PathLike, *, flag: str, command: str, inputs: Iterable[tuple[str, Any]] = (),
                 outputs: Iterable[tuple[str, Any]] = (), suffixes: Iterable[str] | None = None, kind: str = "",
                 overwrite: bool = False, ours=None) -> Path:
    """The checks every command makes on an output path before it reads anything.

    Refused, each with a message that names the path and what to change:
    - the output is one of the command's ``inputs`` or another of its ``outputs`` ((flag, path) pairs);
      no flag allows that, since the file would be lost halfway through the run;
    - its suffix is not one of ``suffixes`` (the format ``kind`` is chosen by the suffix, or must match it);
    - a folder stands at that path;
    - a file stands there that ``ours(path)`` does not recognise as this command's own earlier output,
      unless ``overwrite`` (the ``--overwrite`` flag) says to replace it.
    """
    path = Path(path)
    for other_flag, other in inputs:
        if other is not None and same_file(path, other):
            raise InputError(f"{flag} {path} is also the {other_flag} input; writing it would destroy that "
                             f"input: choose another {flag}")
    for other_flag, other in outputs:
        if other is not None and same_file(path, other):
            raise InputError(f"{flag} {path} is also the {other_flag} output; give the two different paths")
    if path.is_dir():
        raise InputError(f"{flag} {path}: a folder of that name is in the way; choose a file path")
    if suffixes is not None:
        allowed = [x.lower() for x in suffixes]
        if path.suffix.lower() not in allowed:
            names = ", ".join(x or "no suffix" for x in allowed)
            raise InputError(f"{flag} {path}: a {path.suffix or 'suffix-less'} name for a {kind} file; "
                             f"name it with {names}")
    if path.exists() and not overwrite and not (ours is not None and _quietly(ours, path)):
        raise InputError(f"{flag} {path}: a file is already there that {command} did not write; pass "
                         f"--overwrite to replace it, or choose another {flag}")
    return path


def _quietly(test, path: Path) -> bool:
    """``test(path)``, with any error (unreadable, undecodable) counting as "no"."""
    try:
        return bool(test(path))
    except Exception:  # a file we cannot even read is not ours
        return False


def json_object_with(*keys: str):
    """A test for ``check_output``: the file is a JSON object holding every one of ``keys``."""
    def test(path: Path) -> bool:
        obj = json.loads(path.read_text(encoding="utf-8"))
        return isinstance(obj, dict) and all(k in obj for k in keys)
    return test


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


@contextlib.contextmanager
def output_lock(path: str | os.PathLike, command: str):
    """Hold ``<path>.lock`` for the block, so a second run writing the same output stops at once.

    The lock is an advisory ``flock`` on a file that holds the owner's pid: the kernel frees it when the
    owner dies however it dies, so a lock file left by a killed run is taken over without a question.
    """
    import fcntl
    import socket

    path = Path(path)
    lock = path.with_name(path.name + ".lock")
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _blocked(lock, e) from None
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as e:
            raise _blocked(lock, e) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 200).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise InputError(f"{path}: another {command} run is writing it now (lock {lock} held by {owner}); "
                             "wait for it to finish or stop it, or choose another output") from None
        except OSError:
            # flock unsupported here (some network file systems): fall back to the pid in the file.
            owner = os.read(fd, 200).decode("utf-8", "replace").split()
            if owner and owner[0].isdigit() and int(owner[0]) != os.getpid() and _pid_alive(int(owner[0])):
                os.close(fd)
                raise InputError(f"{path}: another {command} run (pid {owner[0]}) is writing it now (lock "
                                 f"{lock}); wait for it, or delete the lock if that process is not ours") from None
        # The file may have been removed (by a finishing owner) between our open and our lock: then the
        # lock we hold is on a file nobody else will see, so start again.
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        yield lock
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)
        os.close(fd)


# ---------------------------------------------------------------- JSONL
def read_bytes(path: str | os.PathLike, what: str = "file") -> bytes:
    """The bytes of an input file; a missing file, a folder or an unreadable one is an InputError."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder; pass the {what} itself")
    try:
        return path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read the {what} ({e.strerror or e}); check the path") from None


def utf8_error(path: str | os.PathLike, raw: bytes, e: UnicodeDecodeError, offset: int = 0,
               line: int | None = None) -> InputError:
    """An InputError for bytes that are not UTF-8, naming the line and saying how to convert the file.
    ``e`` comes from decoding ``raw[offset:]``; ``line`` is given when ``raw`` is one line of the file."""
    pos = offset + e.start
    if line is None:
        line = raw.count(b"\n", 0, pos) + 1
    col = pos - (raw.rfind(b"\n", 0, pos) + 1)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        how = "it is UTF-16: convert it, e.g. iconv -f UTF-16 -t UTF-8"
    else:
        enc = guess_legacy_encoding(raw)
        if enc:
            how = f"it looks like {enc}: convert it, e.g. iconv -f {enc} -t UTF-8"
        else:
            how = "convert it to UTF-8 from the encoding it was saved in, e.g. iconv -f BIG5 -t UTF-8 (Traditional) " \
                  "or iconv -f GBK -t UTF-8 (Simplified)"
    return InputError(f"{path}:{line}: not UTF-8 (byte 0x{raw[pos]:02x} at byte {col + 1} of the line); {how}")


def guess_legacy_encoding(raw: bytes) -> str | None:
    """BIG5 or GBK, whichever the bytes are more likely to be; None when neither decodes them.

    Both are double-byte encodings over the same lead bytes, so many files decode under both. What tells
    them apart: a BIG5 text puts about a third of its second bytes in 0x40-0x7E, while the common
    Simplified characters (GB2312, the core of GBK) always have a second byte of 0xA1 or more.
    """
    fits = []
    for enc in ("BIG5", "GBK"):
        try:
            raw.decode(enc)
            fits.append(enc)
        except UnicodeDecodeError:
            pass
    if len(fits) < 2:
        return fits[0] if fits else None
    pairs = low = 0
    i = 0
    while i < len(raw) - 1:
        if raw[i] >= 0x81:
            pairs += 1
            low += 0x40 <= raw[i + 1] <= 0x7E
            i += 2
        else:
            i += 1
    return "BIG5" if pairs and low / pairs > 0.05 else "GBK"


def iter_lines(path: str | os.PathLike, what: str = "file") -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of every line, without a leading UTF-8 BOM or a trailing CR."""
    raw = read_bytes(path, what)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    for i, line in enumerate(raw.split(b"\n"), 1):
        yield i, line[:-1] if line.endswith(b"\r") else line


def iter_jsonl(path: str | os.PathLike, *, tolerate_partial_last_line: bool = False) -> Iterator[tuple[int, dict]]:
    """(line number, object) of each record of a JSONL file; a bad line raises InputError naming file and line.

    ``tolerate_partial_last_line`` drops an unterminated last line (a crash mid-append) instead of failing.
    """
    path = Path(path)
    raw = read_bytes(path, "JSONL file")
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
        yield i, obj


def read_jsonl(path: str | os.PathLike, *, tolerate_partial_last_line: bool = False) -> list[dict]:
    """Read a JSONL file (see ``iter_jsonl``)."""
    return [obj for _, obj in iter_jsonl(path, tolerate_partial_last_line=tolerate_partial_last_line)]


def append_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> None:
    """Append whole lines with one write + fsync, so a crash leaves at most one partial last line."""
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if not data:
        return
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise _blocked(Path(path), e) from None


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> None:
    with atomic_open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def repair_jsonl_tail(path: str | os.PathLike) -> int:
    """Cut an unterminated last line left by a crash; returns the number of bytes removed."""
    path = Path(path)
    if not path.exists():
        return 0
    raw = read_bytes(path, "JSONL file")
    if not raw or raw.endswith(b"\n"):
        return 0
    keep = raw.rfind(b"\n") + 1
    with open(path, "r+b") as f:
        f.truncate(keep)
    return len(raw) - keep


# ---------------------------------------------------------------- Kaggle CSV (id,text)
def iter_csv_rows(path: str | os.PathLike) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of every row of a UTF-8 CSV (BOM, CRLF and quoted newlines allowed); bytes
    that are not UTF-8 or an unclosed quote raise InputError naming the line."""
    path = Path(path)
    raw = read_bytes(path, "CSV file")
    body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise utf8_error(path, body, e) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for row in reader:
            yield start, row
            start = reader.line_num + 1
    except csv.Error as e:
        raise InputError(f"{path}:{start}: not valid CSV ({e}); a quote opened in this row is never "
                         "closed: double quotes inside a quoted text (\"\") and close it") from None


def read_csv_predictions(path: str | os.PathLike) -> dict[str, str]:
    """Read an ``id,text`` CSV into {id: text}; a bad header, a row with other than 2 fields or a duplicate
    id is an InputError naming the line."""
    path = Path(path)
    rows = iter_csv_rows(path)
    first = next(rows, None)
    if first is None:
        raise InputError(f"{path}: empty file; a predictions CSV starts with the header 'id,text'")
    header = [h.strip().lower() for h in first[1]]
    if header != ["id", "text"]:
        raise InputError(f"{path}:1: expected the header 'id,text', got {','.join(first[1])!r}")
    out: dict[str, str] = {}
    for lineno, row in rows:
        if not row:
            continue
        if len(row) == 1:
            row = row + [""]
        if len(row) != 2:
            raise InputError(f"{path}:{lineno}: {len(row)} fields where 'id,text' has 2; "
                             "quote a text that contains commas (\"a, b\")")
        rid, txt = row
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
    if not folder.exists():
        raise InputError(f"{folder}: does not exist (not a folder, not a file); check the path to the frame set "
                         "or folder of images")
    if not folder.is_dir():
        raise InputError(f"{folder}: is a file, not a folder; pass a frame set or a folder of images")
    meta = folder / METADATA_NAME
    frames: list[Frame] = []
    if meta.exists():
        for i, rec in iter_jsonl(meta, tolerate_partial_last_line=True):
            if not isinstance(rec.get("file_name"), str) or not rec["file_name"]:
                raise InputError(f"{meta}:{i}: record has no 'file_name' string; give each frame's image path")
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
