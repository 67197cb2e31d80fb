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
import multiprocessing as mp
import signal
import time
from pathlib import Path

from subtitle_vlm.io import (METADATA_NAME, InputError, append_jsonl, atomic_write_json, atomic_write_text,
                             check_writable_dir, read_jsonl, repair_jsonl_tail)
from subtitle_vlm.synth.assets import Assets, load_assets
from subtitle_vlm.synth.record import sample_record
from subtitle_vlm.synth.render import render_record, save_frame
from subtitle_vlm.synth.synth_config import SynthConfig

CONFIG_NAME = "synth_config.json"
TSV_NAME = "labels.tsv"
SUMMARY_NAME = "synth_summary.json"
_FLUSH_EVERY = 32
_FLUSH_SECONDS = 1.0

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
    mine = dict(cfg.identity(), assets_digest=digest)
    if path.exists():
        try:
            theirs = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise InputError(f"{path}: unreadable ({e}); delete it only if {out} holds no frames") from None
        theirs = {k: v for k, v in theirs.items() if k in mine}
        diff = sorted(k for k in mine if theirs.get(k) != mine[k])
        if diff and has_frames:
            detail = ", ".join(f"{k}: {theirs.get(k)!r} there vs {mine[k]!r} now" for k in diff)
            hint = (" (the sentences, fonts or backgrounds changed)" if "assets_digest" in diff else "")
            raise InputError(f"{out} holds frames made with other settings ({detail}){hint}; "
                             "rerun with the same settings to resume, or choose another --out")
    atomic_write_json(path, dict(mine, count=cfg.count))


def _remove_temp_files(out: Path) -> int:
    removed = 0
    for tmp in out.glob(".frame_*.tmp"):
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed


def _existing(out: Path, ext: str) -> tuple[list[dict], int, int]:
    """Records already listed (after repairing a crash), bytes cut, temp files removed."""
    meta = out / METADATA_NAME
    removed = _remove_temp_files(out)
    cut = repair_jsonl_tail(meta)
    done = read_jsonl(meta) if meta.exists() else []
    for i, rec in enumerate(done):
        if rec.get("index") != i:
            raise InputError(f"{meta}:{i + 1}: expected the record of frame index {i}, found "
                             f"{rec.get('index')!r}; this file was not written by one synth run - "
                             "choose another --out")
    return done, cut, removed


def _write_tsv(out: Path, meta: Path) -> None:
    """The original pipeline's label file, ``name<TAB>sentence`` (no-subtitle frames have an empty label)."""
    rows = read_jsonl(meta) if meta.exists() else []
    atomic_write_text(out / TSV_NAME, "".join(f"{r['file_name']}\t{r.get('text', '')}\n" for r in rows))


def run_synth(cfg: SynthConfig, progress: bool | None = None) -> dict:
    from tqdm import tqdm

    cfg.validate()
    progress = cfg.progress if progress is None else progress
    out = check_writable_dir(cfg.out)
    t0 = time.perf_counter()
    assets = load_assets(cfg)
    done, cut, removed = _existing(out, cfg.image_format)
    _check_settings(out, cfg, assets_digest(assets), has_frames=bool(done))

    missing = [r for r in done[: cfg.count] if not (out / r["file_name"]).exists()]
    for rec in missing:  # listed but gone (deleted by hand): the record re-renders it exactly
        save_frame(render_record(rec, assets), rec, out / rec["file_name"])

    todo = range(len(done), cfg.count)
    made = 0
    buffer: list[dict] = []
    last_flush = time.perf_counter()
    meta = out / METADATA_NAME

    def flush() -> None:
        nonlocal buffer, last_flush
        append_jsonl(meta, buffer)
        buffer, last_flush = [], time.perf_counter()

    bar = tqdm(total=cfg.count, initial=min(len(done), cfg.count), unit="frame", desc="synth",
               disable=not progress, dynamic_ncols=True)
    pool = None
    try:
        if cfg.workers == 1 or len(todo) <= 1:
            results = (make_frame(i, cfg, assets, out) for i in todo)
        else:
            pool = mp.get_context("spawn").Pool(cfg.workers, initializer=_init_worker,
                                                initargs=(cfg, assets, str(out)))
            chunk = max(1, min(8, len(todo) // (cfg.workers * 8)))
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
            _remove_temp_files(out)  # a worker stopped mid-write leaves its temp file
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
        "frames": max(len(done), cfg.count) if done else cfg.count,
        "made": made,
        "already_there": len(done),
        "rerendered_missing": len(missing),
        "repaired_metadata_bytes": cut,
        "removed_temp_files": removed,
        "workers": cfg.workers,
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
