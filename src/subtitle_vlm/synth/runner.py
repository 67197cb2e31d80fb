"""``run_synth(cfg) -> summary``: make or finish a frame set, in parallel, resumable, identical for any
number of workers.

- Frame i is sampled from its own seed and rendered by whichever worker gets it; results come back in
  index order and ``metadata.jsonl`` is appended in that order, whole lines only.
- Images are written atomically (temp file + rename) before their metadata line, so a line always
  points at a complete image. After a crash or Ctrl-C the rerun cuts a partial last line, removes temp
  files, re-renders any listed image that is missing, and continues at the first index not listed.
- ``synth_config.json`` in the output folder records the settings and a digest of the assets; a rerun
  with other settings is refused instead of mixing two different frame sets.
- ``labels.tsv`` is the original pipeline's ``name<TAB>sentence`` label file, rewritten at the end of a run.
- ``synth_summary.json`` (and the return value) says what was made and what was skipped, and why.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import os
import re
import signal
import sys
import time
from pathlib import Path

from subtitle_vlm.io import (METADATA_NAME, InputError, append_jsonl, atomic_open, atomic_write_json,
                             check_writable_dir, iter_jsonl, repair_jsonl_tail)
from subtitle_vlm.synth.assets import Assets, load_assets
from subtitle_vlm.synth.record import sample_record
from subtitle_vlm.synth.render import render_record, save_frame
from subtitle_vlm.synth.synth_config import SynthConfig

CONFIG_NAME = "synth_config.json"
# Bumped when the same settings start giving other frames (2: records gained scene text; 3: TV layout -
# ticker, tags, subtitle styles, text conventions, the system font pool, elements), so a frame set begun
# by an older synthesiser is not finished with frames of another kind.
RECORD_VERSION = 3
TSV_NAME = "labels.tsv"
SUMMARY_NAME = "synth_summary.json"
_FLUSH_EVERY = 32
_FLUSH_SECONDS = 1.0
_FRAME_RE = re.compile(r"frame_(\d{6,})\.(?:jpg|png)$")
log = logging.getLogger(__name__)



def _start_method() -> str:
    """fork starts workers in milliseconds and shares the loaded assets copy-on-write (spawn re-imports
    everything in each worker, a second or more of a short run). It is safe while no threaded runtime
    such as torch's OpenMP pool lives in this process; otherwise, and off Linux, spawn."""
    threaded = any(m in sys.modules for m in ("torch", "onnxruntime", "tensorflow", "jax"))
    return "fork" if sys.platform.startswith("linux") and not threaded else "spawn"

_CTX: tuple | None = None  # (cfg, assets, out) in each worker


def _init_worker(cfg: SynthConfig, assets: Assets, out: str) -> None:
    global _CTX
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    _CTX = (cfg, assets, Path(out))


def make_frame(index: int, cfg: SynthConfig, assets: Assets, out: Path) -> dict:
    """Sample, render and save frame ``index``; returns its metadata record."""
    try:
        rec = sample_record(index, cfg, assets)
        save_frame(render_record(rec, assets), rec, out / rec["file_name"])
    except InputError:
        raise
    except Exception as e:
        raise RuntimeError(f"frame {index} (seed {cfg.seed}) failed: {type(e).__name__}: {e}") from e
    return rec


def _work(index: int) -> dict:
    cfg, assets, out = _CTX
    return make_frame(index, cfg, assets, out)


def assets_digest(assets: Assets) -> str:
    h = hashlib.sha256()
    for s in assets.sentences:
        h.update(s.encode("utf-8") + b"\n")
    for f in assets.fonts:
        h.update(f"{f.path}#{f.index}\n".encode())
    for b in assets.backgrounds:
        h.update(f"{b}\n".encode())
    return h.hexdigest()[:16]


def _check_settings(out: Path, cfg: SynthConfig, digest: str, has_frames: bool) -> None:
    path = out / CONFIG_NAME
    mine = dict(cfg.identity(), assets_digest=digest, record_version=RECORD_VERSION)
    if path.exists():
        try:
            theirs = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise InputError(f"{path}: unreadable ({e}); delete it only if {out} holds no frames") from None
        theirs = {k: v for k, v in theirs.items() if k in mine}
        diff = sorted(k for k in mine if theirs.get(k) != mine[k])
        if diff and has_frames:
            detail = ", ".join(f"{k}: {theirs.get(k)!r} there vs {mine[k]!r} now" for k in diff)
            hint = (" (the sentences, fonts or backgrounds changed)" if "assets_digest" in diff else
                    " (begun by an older version of the synthesiser)" if "record_version" in diff else "")
            raise InputError(f"{out} holds frames made with other settings ({detail}){hint}; "
                             "rerun with the same settings to resume, or choose another --out")
    atomic_write_json(path, dict(mine, count=cfg.count))


def _remove_temp_files(out: Path) -> int:
    removed = 0
    for tmp in out.glob(".frame_*.tmp"):
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed


def _frame_files(out: Path) -> list[tuple[int, Path]]:
    """(index, path) of every file named like a frame of ours (``frame_000001.jpg`` is index 0)."""
    found = []
    for p in out.iterdir():
        m = _FRAME_RE.match(p.name)
        if m and p.is_file():
            found.append((int(m.group(1)) - 1, p))
    return found


def _remove_unlisted_frames(out: Path, listed: int) -> int:
    """Images of frames past the last metadata line: workers render ahead of the line written in order,
    so an interrupted run leaves some. A rerun renders them again, byte for byte."""
    removed = 0
    for index, p in _frame_files(out):
        if index >= listed:
            p.unlink(missing_ok=True)
            removed += 1
    return removed


def _preflight(out: Path) -> None:
    """Refuse an --out that is a file, whose fixed names are taken by folders, or that holds frame-named
    images synth did not make (they would be overwritten)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: is a file; --out takes a folder (new, or a frame set to resume)")
    if not out.is_dir():
        return
    for name in (METADATA_NAME, CONFIG_NAME, TSV_NAME, SUMMARY_NAME):
        if (out / name).is_dir():
            raise InputError(f"{out / name}: a folder is in the way of the file synth writes there; "
                             "move it away or choose another --out")
    if not (out / CONFIG_NAME).exists():
        theirs = [p for _, p in _frame_files(out)]
        if theirs:
            raise InputError(f"{out} holds {len(theirs)} image(s) named like frames (e.g. {theirs[0].name}) but no "
                             f"{CONFIG_NAME}: they were not made by synth and would be overwritten; "
                             "choose another --out")


def _listed(out: Path) -> tuple[int, list[dict]]:
    """How many frames metadata.jsonl lists (a partial last line not counted), and the listed records
    whose image is gone. Streams the file: only the missing records are kept."""
    meta = out / METADATA_NAME
    if not meta.exists():
        return 0, []
    n, missing = 0, []
    for lineno, rec in iter_jsonl(meta, tolerate_partial_last_line=True):
        if rec.get("index") != n or not isinstance(rec.get("file_name"), str):
            raise InputError(f"{meta}:{lineno}: expected the record of frame index {n}, found "
                             f"{rec.get('index')!r}; this file was not written by one synth run - "
                             "choose another --out")
        if not (out / rec["file_name"]).is_file():
            missing.append(rec)
        n += 1
    return n, missing


def _write_tsv(out: Path, meta: Path) -> None:
    """The original pipeline's label file, ``name<TAB>sentence`` (no-subtitle frames have an empty label)."""
    with atomic_open(out / TSV_NAME) as f:
        if meta.exists():
            for _, r in iter_jsonl(meta):
                f.write(f"{r['file_name']}\t{r.get('text', '')}\n")


def _pool_size(cfg: SynthConfig, todo: int) -> int:
    """Worker processes to start: never more than frames to make, nor far more than CPUs (each worker holds
    its own caches; the output does not depend on the number)."""
    cap = 4 * (os.cpu_count() or 1)
    if cfg.workers > cap:
        log.warning("--workers %d: using %d (4 per CPU); more only costs memory", cfg.workers, cap)
    return max(1, min(cfg.workers, cap, todo))


def run_synth(cfg: SynthConfig, progress: bool | None = None) -> dict:
    from tqdm import tqdm

    cfg.validate()
    progress = cfg.progress if progress is None else progress
    _preflight(Path(cfg.out))
    t0 = time.perf_counter()
    assets = load_assets(cfg)  # before creating --out: bad inputs leave nothing behind
    out = check_writable_dir(cfg.out)
    listed, missing = _listed(out)
    _check_settings(out, cfg, assets_digest(assets), has_frames=bool(listed))
    meta = out / METADATA_NAME
    cut = repair_jsonl_tail(meta)
    removed = _remove_temp_files(out)
    unlisted = _remove_unlisted_frames(out, listed)

    for rec in missing:  # listed but gone (deleted by hand): the record re-renders it exactly
        save_frame(render_record(rec, assets), rec, out / rec["file_name"])

    todo = range(listed, cfg.count)
    workers = _pool_size(cfg, len(todo))
    made = 0
    buffer: list[dict] = []
    last_flush = time.perf_counter()

    def flush() -> None:
        # Take the lines first: a Ctrl-C inside append_jsonl must not make the handler append them twice
        # (a cut-off last line is repaired by the rerun; a doubled one would not be).
        nonlocal buffer, last_flush
        lines, buffer, last_flush = buffer, [], time.perf_counter()
        append_jsonl(meta, lines)

    # disable=None: tqdm draws only on a terminal, so logs of batch jobs stay readable.
    bar = tqdm(total=cfg.count, initial=min(listed, cfg.count), unit="frame", desc="synth",
               disable=None if progress else True, dynamic_ncols=True)
    pool = None
    try:
        if workers == 1:
            results = (make_frame(i, cfg, assets, out) for i in todo)
        else:
            pool = mp.get_context(_start_method()).Pool(workers, initializer=_init_worker, initargs=(cfg, assets, str(out)))
            chunk = max(1, min(8, len(todo) // (workers * 8)))
            results = pool.imap(_work, todo, chunksize=chunk)
        for rec in results:
            buffer.append(rec)
            made += 1
            bar.update(1)
            if len(buffer) >= _FLUSH_EVERY or time.perf_counter() - last_flush > _FLUSH_SECONDS:
                flush()
        flush()
    except BaseException:
        flush()  # every record received has its image on disk: keep them for the rerun
        if pool is not None:
            pool.terminate()
            pool.join()
            pool = None
        # Stopped workers leave temp files, and images rendered ahead of the last line written.
        _remove_temp_files(out)
        written = sum(1 for _ in iter_jsonl(meta, tolerate_partial_last_line=True)) if meta.exists() else 0
        _remove_unlisted_frames(out, written)
        raise
    finally:
        bar.close()
        if pool is not None:
            pool.close()
            pool.join()

    _write_tsv(out, meta)
    seconds = time.perf_counter() - t0
    summary = {
        "out": str(out),
        "frames": max(listed, cfg.count),
        "made": made,
        "already_there": listed,
        "rerendered_missing": len(missing),
        "repaired_metadata_bytes": cut,
        "removed_temp_files": removed,
        "removed_unlisted_images": unlisted,
        "workers": workers,
        "style": cfg.style,
        "seconds": round(seconds, 3),
        "frames_per_s": round(made / seconds, 2) if made else 0.0,
        "sentences": len(assets.sentences),
        "fonts": [f"{f.name} ({Path(f.path).name}#{f.index})" for f in assets.fonts],
        "backgrounds": len(assets.backgrounds),
        "skipped": assets.skipped,
    }
    atomic_write_json(out / SUMMARY_NAME, summary)
    return summary
