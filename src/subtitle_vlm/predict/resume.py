"""What a predict run's readings depend on, so a rerun resumes only rows made the same way.

``<out>.resume.json`` is written before the first frame is read and kept beside the finished CSV. It
records the input listing (each frame's id, relative path, size and modification time) and the settings
that decide a reading: engine, model and adapter (their files' names, sizes and times, so a retrained
model in the same folder counts as another), prompt, crop, token budget, dtype, engine options and seed.
The device, batch size and process count are left out: they change how fast, not what is read.

A rerun resumes only when the record matches; otherwise it stops and names what differs. An ``--out`` or
journal with no record beside it is not known to be ours and is refused too. ``--overwrite`` starts afresh.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from subtitle_vlm.io import Frame, InputError, atomic_write_json

RESUME_SUFFIX = ".resume.json"
VERSION = 1


def resume_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(out.name + RESUME_SUFFIX)


def _stat_sig(p: Path) -> str:
    try:
        st = p.stat()
    except OSError:
        return "missing"
    return f"{st.st_size}:{st.st_mtime_ns}"


def input_listing(root: str | Path, frames: list[Frame]) -> dict[str, str]:
    """{frame id: "relative path|size:mtime"} for every frame of the input (before --limit)."""
    root = Path(root)
    out = {}
    for f in frames:
        try:
            rel = str(f.path.relative_to(root))
        except ValueError:
            rel = str(f.path)
        out[f.id] = f"{rel}|{_stat_sig(f.path)}"
    return out


def path_identity(spec: str | None) -> str | None:
    """A model or adapter as it stands on disk (its top-level files' names, sizes and times); a name that
    is not a local path (a hub id) stands for itself."""
    if not spec:
        return None
    p = Path(spec)
    if not p.exists():
        return spec
    if p.is_file():
        return f"{p.name}|{_stat_sig(p)}"
    files = sorted(c for c in p.iterdir() if c.is_file() and not c.name.startswith("."))
    import hashlib

    blob = "\n".join(f"{c.name}|{_stat_sig(c)}" for c in files)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def settings_for(cfg) -> dict:
    """The settings part of the record, from the options alone: known before any model is loaded, so a
    mismatch is found at once and a finished run is rerun without loading one. (An engine object handed
    to ``run_predict`` by a library caller is that caller's to keep consistent with ``cfg``.)"""
    return {"engine": cfg.engine, "model": path_identity(cfg.model), "adapter": path_identity(cfg.adapter),
            "prompt": cfg.prompt, "crop": cfg.crop, "max_new_tokens": cfg.max_new_tokens, "dtype": cfg.dtype,
            "engine_options": cfg.engine_options, "seed": cfg.seed}


def make_record(cfg, frames: list[Frame]) -> dict:
    return {"version": VERSION, "input": str(Path(cfg.input).resolve()), "model_path": cfg.model,
            "adapter_path": cfg.adapter, "settings": settings_for(cfg),
            "frames": input_listing(cfg.input, frames)}


def _show(v) -> str:
    s = json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)
    return s if len(s) <= 80 else s[:77] + "..."


def differences(old: dict, new: dict) -> list[str]:
    """What differs between an earlier run's record and this run's, in words."""
    if old.get("version") != VERSION:
        return [f"the record is of another format (version {old.get('version')!r})"]
    out = []
    a, b = old.get("settings", {}), new["settings"]
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            if key in ("model", "adapter"):
                was, now = old.get(f"{key}_path"), new.get(f"{key}_path")
                if was == now:
                    out.append(f"{key}: the files of {now} changed since the earlier run")
                else:
                    out.append(f"{key}: was {was}, now {now}")
            else:
                out.append(f"{key}: was {_show(a.get(key))}, now {_show(b.get(key))}")
    fa, fb = old.get("frames", {}), new["frames"]
    if fa != fb:
        gone = [k for k in fa if k not in fb]
        new_ids = [k for k in fb if k not in fa]
        changed = [k for k in fb if k in fa and fa[k] != fb[k]]
        parts = []
        if changed:
            parts.append(f"{len(changed)} frames changed (size, time or path; first: {fb[changed[0]].split('|')[0]})")
        if new_ids:
            parts.append(f"{len(new_ids)} frames are new (first: {new_ids[0]})")
        if gone:
            parts.append(f"{len(gone)} frames are gone (first: {gone[0]})")
        where = "" if old.get("input") == new["input"] else f" (was {old.get('input')}, now {new['input']})"
        out.append(f"input{where}: {'; '.join(parts)}")
    return out


def check_resumable(out: str | Path, record: dict, leftovers: list[Path], overwrite: bool) -> bool:
    """Decide whether the rows at ``out`` (the CSV and ``leftovers``, its journals) may be resumed.

    Returns True to resume, False to start afresh (nothing there, or ``overwrite``); raises InputError
    naming the difference when the earlier rows were made otherwise, or are of unknown origin.
    """
    out = Path(out)
    there = [p for p in [out, *leftovers] if p.exists()]
    rp = resume_path(out)
    if overwrite or not there:
        return False
    if not rp.exists():
        raise InputError(f"--out {out}: {there[0].name} is already there but no {rp.name} says which input and "
                         "settings made it, so its rows cannot be trusted for this run; pass --overwrite to "
                         "read every frame afresh and replace it, or choose another --out")
    try:
        old = json.loads(rp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    diff = differences(old, record) if isinstance(old, dict) and old else ["the record is unreadable"]
    if diff:
        raise InputError(f"--out {out}: the rows already there were read from another input or with other "
                         f"settings ({'; '.join(diff)}); pass --overwrite to read every frame afresh and "
                         "replace them, or choose another --out")
    return True


def write_record(out: str | Path, record: dict) -> None:
    atomic_write_json(resume_path(out), record, indent=None)


def discard(paths: list[Path]) -> None:
    for p in paths:
        if p.exists() and p.is_file():
            os.unlink(p)


__all__ = ["resume_path", "make_record", "check_resumable", "write_record", "differences", "settings_for"]
