"""Validate exported dataset files against the rules of the trainers that read them (see UPSTREAM.md).

    problems = check_file("out/minicpmv/train.json")      # [] when every record is fine

Formats (detected from the file, or forced with ``fmt``):

- ``minicpmv``    JSON list; ``id``; one ``image`` path, absolute (the trainer runs from ``finetune/``) and
                  existing; ``conversations`` of ``{"role": user|assistant, "content": str}``, at least 2,
                  first ``user``, alternating, last ``assistant``; ``<image>`` at most once, in the first
                  user message.
- ``tinyllava``   JSON list; ``image`` relative to the image folder (``info.json`` beside the file, or
                  ``image_folder``) and existing there; ``{"from": human|gpt, "value": str}`` turns, first
                  ``human``, alternating, last ``gpt``; ``<image>`` exactly once, in the first human turn.
- ``messages``    JSONL; ``messages`` of ``{"role": system|user|assistant, "content": str}`` (an optional
                  leading system turn, then user first, alternating, last assistant); ``images`` a list of
                  one absolute existing path; as many ``<image>`` tags as images.
- ``imagefolder`` ``metadata.jsonl``; ``file_name`` relative, inside the folder, existing; ``text`` string.
- ``gold``        CSV with header ``id,text``, two columns a row.

All: UTF-8 without BOM (the upstream trainers read with the platform encoding under ``PYTHONUTF8=1``),
ids unique.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from subtitle_vlm.data.prompts import IMAGE_TOKEN
from subtitle_vlm.io import METADATA_NAME, InputError, iter_csv_rows, read_bytes

CHECK_FORMATS = ("minicpmv", "tinyllava", "messages", "imagefolder", "gold")


@dataclass(frozen=True)
class Problem:
    path: str
    where: str      # "record 3 (id 'x')", "line 7", or "file"
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.where}: {self.message}"


# ---------------------------------------------------------------- reading
def _decode(path: Path, raw: bytes, problems: list[Problem]) -> str | None:
    if raw.startswith(b"\xef\xbb\xbf"):
        problems.append(Problem(str(path), "line 1", "starts with a UTF-8 BOM; the trainers' JSON readers "
                                "reject it: save without BOM"))
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        problems.append(Problem(str(path), f"line {line}", f"not UTF-8 (byte {e.start}); save the file as UTF-8"))
        return None


def _json_lines(path: Path, problems: list[Problem]) -> list[tuple[int, object]]:
    """(line number, parsed object) of each non-blank line; bad lines become problems."""
    raw = read_bytes(path, "dataset file")
    if raw.startswith(b"\xef\xbb\xbf"):
        problems.append(Problem(str(path), "line 1", "starts with a UTF-8 BOM; save without BOM"))
        raw = raw[3:]
    out = []
    for i, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as e:
            problems.append(Problem(str(path), f"line {i}", f"not UTF-8 (byte {e.start}); save the file as UTF-8"))
            continue
        try:
            out.append((i, json.loads(text)))
        except json.JSONDecodeError as e:
            problems.append(Problem(str(path), f"line {i}", f"not valid JSON ({e.msg} at column {e.colno})"))
    return out


def _json_list(path: Path, problems: list[Problem]) -> list | None:
    text = _decode(path, read_bytes(path, "dataset file"), problems)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        problems.append(Problem(str(path), f"line {e.lineno}", f"not valid JSON ({e.msg} at column {e.colno})"))
        return None
    if not isinstance(data, list):
        problems.append(Problem(str(path), "file", f"expected a JSON list of records, got {type(data).__name__}"))
        return None
    return data


def _objects(path: Path, items, kind: str, problems: list[Problem]):
    """(where, record) of each record that is a JSON object; the others become problems."""
    for n, rec in items:
        where = _where(kind, n, rec)
        if isinstance(rec, dict):
            yield where, rec
        else:
            problems.append(Problem(str(path), where, f"expected an object, got {type(rec).__name__}"))


# ---------------------------------------------------------------- detection
def detect_format(path: str | os.PathLike) -> str:
    """Which of CHECK_FORMATS ``path`` is, from its suffix and its first record."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "gold"
    if suffix not in (".json", ".jsonl"):
        raise InputError(f"{path}: cannot tell the format from the suffix {suffix!r}; "
                         f"pass --format ({', '.join(CHECK_FORMATS)})")
    first = None
    if suffix == ".json":
        try:
            data = json.loads(path.read_bytes().decode("utf-8-sig"))
            first = next((r for r in data if isinstance(r, dict)), None) if isinstance(data, list) else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            first = None
        turns = first.get("conversations") if isinstance(first, dict) else None
        turn = turns[0] if isinstance(turns, list) and turns and isinstance(turns[0], dict) else {}
        if "from" in turn or "value" in turn:
            return "tinyllava"
        if "role" in turn or "content" in turn:
            return "minicpmv"
    else:
        for line in path.read_bytes().split(b"\n"):
            try:
                obj = json.loads(line.decode("utf-8-sig"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue
            if isinstance(obj, dict):
                if "messages" in obj:
                    return "messages"
                if "file_name" in obj or path.name == METADATA_NAME:
                    return "imagefolder"
                break
        if path.name == METADATA_NAME:
            return "imagefolder"
    # an empty or broken file: fall back on the folder name the exporter uses
    parent = path.parent.name
    if parent in CHECK_FORMATS:
        return parent
    if path.parent.parent.name == "imagefolder":
        return "imagefolder"
    raise InputError(f"{path}: cannot tell the format from its records; pass --format ({', '.join(CHECK_FORMATS)})")


# ---------------------------------------------------------------- shared record rules
class _Ids:
    def __init__(self, label: str = "id"):
        self.label = label
        self.seen: dict[str, str] = {}

    def check(self, rid, where: str, required: bool) -> str | None:
        if rid is None:
            return f"no {self.label!r}; give every record a unique one" if required else None
        if not isinstance(rid, (str, int)) or isinstance(rid, bool):
            return f"{self.label!r} must be a string, got {type(rid).__name__}"
        key = str(rid)
        if key in self.seen:
            return f"{self.label} {key!r} already used by {self.seen[key]}; each must be unique"
        self.seen[key] = where
        return None


def _where(kind: str, n: int, rec) -> str:
    rid = rec.get("id") if isinstance(rec, dict) else None
    return f"{kind} {n}" + (f" (id {rid!r})" if isinstance(rid, (str, int)) else "")


def _check_turns(turns, role_key: str, text_key: str, user: str, assistant: str,
                 allow_system: bool) -> list[str]:
    """Problems of a conversation: shape, roles, order, string contents."""
    if not isinstance(turns, list):
        return [f"conversation must be a list of messages, got {type(turns).__name__}"]
    if len(turns) < 2:
        return [f"conversation has {len(turns)} message(s); it needs at least 2 ({user} then {assistant})"]
    errs = []
    roles = []
    for j, t in enumerate(turns):
        if not isinstance(t, dict):
            errs.append(f"message {j} is a {type(t).__name__}, not an object")
            roles.append(None)
            continue
        missing = [k for k in (role_key, text_key) if k not in t]
        if missing:
            errs.append(f"message {j} has no {' or '.join(repr(k) for k in missing)} "
                        f"(this format uses {role_key!r}/{text_key!r})")
        if text_key in t and not isinstance(t[text_key], str):
            errs.append(f"message {j} {text_key!r} must be a string, got {type(t[text_key]).__name__}")
        roles.append(t.get(role_key))
    valid = {user, assistant} | ({"system"} if allow_system else set())
    for j, r in enumerate(roles):
        if r is not None and r not in valid:
            errs.append(f"message {j} has {role_key} {r!r}; use one of {', '.join(sorted(valid))}")
    if allow_system and "system" in roles[1:]:
        errs.append("a 'system' message may only come first")
    body = roles[1:] if allow_system and roles and roles[0] == "system" else roles
    if body and body[0] not in (user, None):
        errs.append(f"the first message must be {user!r}, got {body[0]!r}")
    for j in range(1, len(body)):
        if body[j] is not None and body[j] == body[j - 1]:
            errs.append(f"two {body[j]!r} messages in a row; {user!r} and {assistant!r} must alternate")
            break
    if body and body[-1] not in (assistant, None):
        errs.append(f"the last message must be {assistant!r} (the answer to learn), got {body[-1]!r}")
    return errs


def _image_tags(turns, role_key: str, text_key: str, user: str) -> tuple[int, int, int | None]:
    """(total tags, tags in the first user turn, index of the first user turn)."""
    total, in_first, first_user = 0, 0, None
    for j, t in enumerate(turns if isinstance(turns, list) else []):
        if not isinstance(t, dict) or not isinstance(t.get(text_key), str):
            continue
        n = t[text_key].count(IMAGE_TOKEN)
        total += n
        if first_user is None and t.get(role_key) == user:
            first_user = j
            in_first = n
    return total, in_first, first_user


def _image_path_problem(value, *, absolute: bool, base: Path | None) -> str | None:
    if isinstance(value, list):
        return "one image per sample: 'image' must be one path string, not a list"
    if not isinstance(value, str) or not value:
        return "'image' must be a non-empty path string"
    if absolute and not os.path.isabs(value):
        return f"image path {value!r} is relative; the trainer resolves it from its own working directory: " \
               "write an absolute path"
    if not absolute and os.path.isabs(value):
        return f"image path {value!r} is absolute; write it relative to the image folder"
    full = Path(value) if absolute else (base / value if base else None)
    if full is not None and not full.is_file():
        return f"image not found: {full}"
    return None


# ---------------------------------------------------------------- formats
def _check_conversation_json(path: Path, fmt: str, image_folder: Path | None) -> list[Problem]:
    problems: list[Problem] = []
    data = _json_list(path, problems)
    if data is None:
        return problems
    tiny = fmt == "tinyllava"
    role_key, text_key, user, assistant = ("from", "value", "human", "gpt") if tiny else \
        ("role", "content", "user", "assistant")
    if tiny and image_folder is None:
        problems.append(Problem(str(path), "file", "cannot tell the image folder the paths are relative to: "
                                "pass --image-folder (or keep info.json beside the file)"))
    ids = _Ids()
    for where, rec in _objects(path, enumerate(data), "record", problems):
        errs: list[str] = []
        e = ids.check(rec.get("id"), where, required=True)
        if e:
            errs.append(e)
        if "image" not in rec:
            errs.append("no 'image'; every sample needs its frame")
        else:
            e = _image_path_problem(rec["image"], absolute=not tiny, base=image_folder)
            if e:
                errs.append(e)
        if "conversations" not in rec:
            errs.append("no 'conversations'")
        else:
            turns = rec["conversations"]
            errs += _check_turns(turns, role_key, text_key, user, assistant, allow_system=False)
            total, in_first, first = _image_tags(turns, role_key, text_key, user)
            if tiny and (total != 1 or in_first != 1):
                errs.append(f"'{IMAGE_TOKEN}' must appear exactly once, in the first {user!r} message "
                            f"(found {total} in all, {in_first} there)")
            if not tiny and (total > 1 or total != in_first):
                errs.append(f"'{IMAGE_TOKEN}' may appear only once, in the first {user!r} message "
                            f"(found {total} in all, {in_first} there)")
        problems += [Problem(str(path), where, m) for m in errs]
    return problems


def _check_messages(path: Path) -> list[Problem]:
    problems: list[Problem] = []
    ids = _Ids()
    for where, rec in _objects(path, _json_lines(path, problems), "line", problems):
        errs: list[str] = []
        e = ids.check(rec.get("id"), where, required=False)
        if e:
            errs.append(e)
        turns = rec.get("messages")
        if turns is None:
            errs.append("no 'messages'")
        else:
            errs += _check_turns(turns, "role", "content", "user", "assistant", allow_system=True)
        images = rec.get("images")
        if not isinstance(images, list):
            errs.append("'images' must be a list holding the frame's absolute path")
            images = []
        elif len(images) != 1:
            errs.append(f"one image per sample: 'images' has {len(images)} entries")
        for img in images:
            e = _image_path_problem(img, absolute=True, base=None)
            if e:
                errs.append(e)
        total, _, _ = _image_tags(turns, "role", "content", "user")
        if isinstance(images, list) and images and total != len(images):
            errs.append(f"{total} '{IMAGE_TOKEN}' tag(s) for {len(images)} image(s); "
                        f"put one '{IMAGE_TOKEN}' in the user message per image")
        problems += [Problem(str(path), where, m) for m in errs]
    return problems


def _check_imagefolder(path: Path) -> list[Problem]:
    problems: list[Problem] = []
    ids, names = _Ids(), _Ids("file_name")
    for where, rec in _objects(path, _json_lines(path, problems), "line", problems):
        errs: list[str] = []
        for e in (ids.check(rec.get("id"), where, required=False),
                  names.check(rec.get("file_name"), where, required=True)):
            if e:
                errs.append(e)
        name = rec.get("file_name")
        if isinstance(name, str):
            norm = os.path.normpath(name).replace("\\", "/")
            if os.path.isabs(name) or "://" in name:
                errs.append(f"file_name {name!r} must be relative to {path.parent} (datasets rejects absolute paths)")
            elif norm == ".." or norm.startswith("../"):
                errs.append(f"file_name {name!r} leaves {path.parent}; datasets rejects '..' paths: "
                            "link or copy the image into the folder")
            elif not (path.parent / PurePosixPath(name)).is_file():
                errs.append(f"image not found: {path.parent / name}")
        if not isinstance(rec.get("text"), str):
            errs.append("'text' must be a string (\"\" for a frame without subtitle)")
        problems += [Problem(str(path), where, m) for m in errs]
    return problems


def _check_gold(path: Path) -> list[Problem]:
    problems: list[Problem] = []
    rows: list[tuple[int, list[str]]] = []
    try:  # a BOM is fine here: read_csv_predictions and Kaggle both accept one
        for lineno, row in iter_csv_rows(path):
            rows.append((lineno, row))
    except InputError as e:  # not UTF-8, or a quote never closed: the rows before it are still checked
        m = re.match(rf"{re.escape(str(path))}:(\d+): (.*)", str(e), re.S)
        problems.append(Problem(str(path), f"line {m.group(1)}", m.group(2)) if m
                        else Problem(str(path), "file", str(e)))
    if not rows or [h.strip().lower() for h in rows[0][1]] != ["id", "text"]:
        got = ",".join(rows[0][1]) if rows else "nothing"
        return [Problem(str(path), "line 1", f"expected the header 'id,text', got {got!r}")] + problems
    ids = _Ids()
    for lineno, row in rows[1:]:
        if not row:
            continue
        where = f"line {lineno}" + (f" (id {row[0]!r})" if row[0] else "")
        if len(row) != 2:
            problems.append(Problem(str(path), where, f"expected 2 columns (id,text), got {len(row)}; "
                                    "quote text that contains commas"))
        if not row[0]:
            problems.append(Problem(str(path), where, "empty id"))
            continue
        e = ids.check(row[0], where, required=True)
        if e:
            problems.append(Problem(str(path), where, e))
    return problems


def _tinyllava_folder(path: Path) -> Path | None:
    info = path.parent / "info.json"
    if info.is_file():
        try:
            folder = json.loads(info.read_text(encoding="utf-8")).get("image_folder")
        except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            folder = None
        if isinstance(folder, str):
            return Path(folder)
    return None


def check_file(path: str | os.PathLike, fmt: str | None = None,
               image_folder: str | os.PathLike | None = None) -> list[Problem]:
    """Every problem in one dataset file ([] when it is fine). Raises InputError when the file is missing
    or its format cannot be told."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder; pass a dataset file to --check (e.g. {path}/train.json)")
    if not path.is_file():
        raise InputError(f"{path}: file not found; pass a dataset file to --check")
    fmt = fmt or detect_format(path)
    if fmt not in CHECK_FORMATS:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(CHECK_FORMATS)}")
    if fmt in ("minicpmv", "tinyllava"):
        folder = Path(image_folder) if image_folder else (_tinyllava_folder(path) if fmt == "tinyllava" else None)
        return _check_conversation_json(path, fmt, folder)
    if fmt == "messages":
        return _check_messages(path)
    if fmt == "imagefolder":
        return _check_imagefolder(path)
    return _check_gold(path)
