"""The predict loop every engine shares.

Rows are appended to a journal (``<out>.journal.jsonl``) as each batch finishes, so an interrupted run
loses at most the batch in flight; a rerun skips every id already journaled (or already in ``<out>``).
The CSV itself is written once, atomically, in natural id order. With ``workers``/``data_parallel`` > 1
the frames are split into interleaved shards, one process each, each with its own journal; the parent
merges them in order. Journals left by an earlier run with another process count are folded into the
unsharded journal first, so a rerun with different ``--workers`` still resumes.

``--engine`` also takes ``package.module:Class`` for an engine outside the registry (an ``Engine``
subclass with ``from_config``); shard processes import it the same way.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from subtitle_vlm.io import (Frame, InputError, append_jsonl, check_writable_dir, read_csv_predictions,
                             read_frame_set, read_jsonl, repair_jsonl_tail, write_csv_predictions)

log = logging.getLogger(__name__)


@dataclass
class PredictSummary:
    frames: int = 0
    read: int = 0
    resumed: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def fps(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return {"frames": self.frames, "read": self.read, "resumed": self.resumed,
                "unreadable": len(self.failed), "seconds": round(self.seconds, 3), "frames_per_s": round(self.fps, 3),
                "unreadable_files": list(self.failed)}

    def __str__(self) -> str:
        s = (f"{self.frames} frames: {self.read} read this run ({self.fps:.2f} frames/s), "
             f"{self.resumed} already done")
        if self.failed:
            s += f", {len(self.failed)} unreadable (empty prediction): {', '.join(self.failed[:5])}"
            if len(self.failed) > 5:
                s += ", ..."
        return s


def journal_path(out: str | Path, shard: str | None = None) -> Path:
    out = Path(out)
    tag = "" if not shard else ".shard" + shard.replace("/", "of")
    return out.with_name(out.name + tag + ".journal.jsonl")


def all_journals(out: str | Path) -> list[Path]:
    """Every journal of ``out``: the unsharded one and those of any shard count."""
    out = Path(out)
    found = sorted(out.parent.glob(glob.escape(out.name) + ".shard*.journal.jsonl"))
    return [journal_path(out)] + found


def consolidate_journals(out: str | Path) -> dict[str, str]:
    """Fold every journal of ``out`` into the unsharded one (atomically) and delete the shard journals.

    Run by the parent before it starts shard processes: each shard then reads the unsharded journal
    (which nobody appends to while shards run) plus its own.
    """
    from subtitle_vlm.io import write_jsonl

    journals = all_journals(out)
    done = load_done(None, journals)
    base = journal_path(out)
    if done:
        write_jsonl(base, [{"id": k, "text": v} for k, v in done.items()])
    for j in journals[1:]:
        j.unlink(missing_ok=True)
    return done


def load_done(out: str | Path | None, journals: list[Path]) -> dict[str, str]:
    """Readings already made: rows of ``out`` (when given) and of the journals, later ones winning."""
    done: dict[str, str] = {}
    if out is not None and Path(out).exists():
        done.update(read_csv_predictions(out))
    for j in journals:
        if j.exists():
            repair_jsonl_tail(j)
            for rec in read_jsonl(j):
                done[str(rec["id"])] = rec.get("text", "")
    return done


def open_rgb(path: Path):
    """Open a frame as RGB; returns None (and logs) when it cannot be decoded."""
    from PIL import Image

    try:
        im = Image.open(path)
    except Exception as e:  # PIL raises many types for broken files; all mean "unreadable"
        log.warning("unreadable frame %s (%s): writing an empty prediction", path, e.__class__.__name__)
        return None
    try:
        im.load()
        # Single-image formats close their file once loaded; an RGB one is then returned as is, sparing
        # a full-frame copy. Anything else (other modes, multi-frame files that keep the file open) is
        # converted into a fresh image and the original closed.
        if im.mode == "RGB" and getattr(im, "fp", None) is None:
            return im
        out = im.convert("RGB")
    except Exception as e:
        log.warning("unreadable frame %s (%s): writing an empty prediction", path, e.__class__.__name__)
        im.close()
        return None
    im.close()
    return out


def select_frames(cfg) -> list[Frame]:
    frames = read_frame_set(cfg.input)
    if not frames:
        raise InputError(f"{cfg.input}: no images found (jpg, png, webp, bmp)")
    if cfg.limit:
        frames = frames[: cfg.limit]
    return frames


def _shard(frames: list[Frame], shard: str | None) -> list[Frame]:
    if not shard:
        return frames
    i, n = (int(v) for v in shard.split("/"))
    return frames[i::n]


def prefetch_workers(batch_size: int, auto_crop: bool) -> int:
    """Threads decoding frames ahead of the engine: enough to decode a batch while the engine reads the
    previous one, never more than the CPU cores (PIL's decoders release the GIL, so they run alongside)."""
    if auto_crop:
        return 1  # PP-OCR detection already spreads over every core; one frame at a time is enough
    return max(1, min(batch_size, os.cpu_count() or 1, 8))


def read_frames(engine, frames: list[Frame], journal: Path, done: dict[str, str], summary: PredictSummary,
                progress: bool = True) -> dict[str, str]:
    """Read ``frames`` not in ``done`` batch by batch, journaling each batch; returns all readings.

    The next batch is decoded (and cropped) in background threads while the engine reads the current one.
    """
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    from subtitle_vlm.crop import crop_image, parse_crop

    results = dict(done)
    todo = [f for f in frames if f.id not in done]
    summary.resumed += len(frames) - len(todo)
    bar = tqdm(total=len(todo), unit="frame", disable=not progress, desc=f"predict[{engine.name}]")
    t0 = time.perf_counter()
    bs = max(1, int(getattr(engine, "batch_size", 1)))
    crop = getattr(engine, "crop", None)
    auto = bool(crop) and parse_crop(crop).kind == "auto"
    if auto:
        # 'auto' is the box PP-OCR's subtitle selector finds in each frame (needs the ppocr extra).
        from subtitle_vlm.engines.ppocr import resolve_auto_crop as crop_one
    else:
        def crop_one(im):
            return crop_image(im, crop)

    def load(fr: Frame):
        im = open_rgb(fr.path)
        return crop_one(im) if im is not None and crop else im

    batches = [todo[i:i + bs] for i in range(0, len(todo), bs)]
    pool = ThreadPoolExecutor(max_workers=prefetch_workers(bs, auto), thread_name_prefix="predict-decode")
    try:
        pending = [pool.submit(load, fr) for fr in batches[0]] if batches else []
        for k, batch in enumerate(batches):
            loaded = [f.result() for f in pending]
            pending = [pool.submit(load, fr) for fr in batches[k + 1]] if k + 1 < len(batches) else []
            images, ok = [], []
            for fr, im in zip(batch, loaded):
                if im is None:
                    summary.failed.append(str(fr.path))
                    continue
                images.append(im)
                ok.append(fr)
            texts = engine.read(images) if images else []
            if len(texts) != len(images):
                raise RuntimeError(f"engine {engine.name} returned {len(texts)} readings for {len(images)} images")
            rows = {fr.id: "" for fr in batch}
            rows.update({fr.id: " ".join(t.split("\n")).strip() for fr, t in zip(ok, texts)})
            append_jsonl(journal, [{"id": fid, "text": v} for fid, v in rows.items()])
            results.update(rows)
            summary.read += len(batch)
            bar.update(len(batch))
            el = time.perf_counter() - t0
            bar.set_postfix(fps=f"{summary.read / el:.2f}" if el else "-")
    finally:
        # On an error (or Ctrl-C) drop the frames queued ahead; one already decoding finishes first.
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
        summary.seconds += time.perf_counter() - t0
    return results


def load_engine_for(cfg):
    """The registry's engine, or ``package.module:Class`` imported directly."""
    if ":" in cfg.engine:
        import importlib

        mod_name, _, cls_name = cfg.engine.partition(":")
        try:
            cls = getattr(importlib.import_module(mod_name), cls_name)
        except (ImportError, AttributeError) as e:
            raise InputError(f"--engine {cfg.engine}: cannot import it ({e}); use a registered engine name "
                             "or module:Class on the Python path") from None
        return cls.from_config(cfg)
    from subtitle_vlm.engines import load_engine

    return load_engine(cfg.engine, cfg)


def visible_gpus(n: int) -> list[str]:
    """The GPU ids a data-parallel run uses: the first ``n`` of CUDA_VISIBLE_DEVICES (or 0..n-1)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = [v.strip() for v in visible.split(",") if v.strip()] if visible else [str(i) for i in range(n)]
    if len(ids) < n:
        raise InputError(f"--data-parallel {n} needs {n} GPUs but CUDA_VISIBLE_DEVICES={visible} names "
                         f"{len(ids)}; lower --data-parallel or list more GPUs")
    return ids[:n]


def summary_path(out: str | Path, shard: str) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".shard" + shard.replace("/", "of") + ".summary.json")


def _spawn_shards(cfg, n: int, gpus: bool) -> list[subprocess.Popen]:
    """Start one ``subtitle-vlm predict --shard i/n`` process per shard (GPU i when ``gpus``)."""
    gpu_ids = visible_gpus(n) if gpus else []
    procs = []
    for i in range(n):
        env = dict(os.environ)
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = gpu_ids[i]
        args = [sys.executable, "-m", "subtitle_vlm", "predict", "--input", cfg.input, "--out", cfg.out,
                "--engine", cfg.engine, "--batch-size", str(cfg.batch_size), "--shard", f"{i}/{n}",
                "--workers", "1", "--data-parallel", "0", "--device", "cuda:0" if gpus else cfg.device,
                "--dtype", cfg.dtype, "--max-new-tokens", str(cfg.max_new_tokens), "--limit", str(cfg.limit),
                "--engine-options", json.dumps(cfg.engine_options), "--seed", str(cfg.seed),
                "--trust-remote-code", str(cfg.trust_remote_code).lower()]
        opts = ["model", "adapter", "prompt", "crop"] + ([] if gpus else ["device_map", "max_memory"])
        for opt in opts:
            if getattr(cfg, opt) is not None:
                args += [f"--{opt.replace('_', '-')}", str(getattr(cfg, opt))]
        args += ["--summary-json", str(summary_path(cfg.out, f"{i}/{n}"))]
        if i:
            args += ["--no-progress"]
        procs.append(subprocess.Popen(args, env=env))
    return procs


def run_predict(cfg, engine=None, progress: bool = True) -> PredictSummary:
    """Read every frame of ``cfg.input`` into ``cfg.out``. ``engine`` may be passed in (tests, video)."""
    frames = select_frames(cfg)
    check_writable_dir(Path(cfg.out).resolve().parent)
    summary = PredictSummary(frames=len(frames))
    n_proc = cfg.data_parallel or (cfg.workers if cfg.workers > 1 else 0)
    if n_proc > 1 and not cfg.shard and engine is None:
        before = consolidate_journals(cfg.out)
        if Path(cfg.out).exists():
            before.update(read_csv_predictions(cfg.out))
        summary.resumed = sum(1 for f in frames if f.id in before)
        if summary.resumed == len(frames):
            _finish(cfg, frames, before, all_journals(cfg.out))
            return summary
        journals = [journal_path(cfg.out)] + [journal_path(cfg.out, f"{i}/{n_proc}") for i in range(n_proc)]
        t0 = time.perf_counter()
        procs = _spawn_shards(cfg, n_proc, gpus=bool(cfg.data_parallel))
        try:
            codes = [p.wait() for p in procs]
        except BaseException:
            for p in procs:  # Ctrl-C: stop the shards too; their journals keep what they finished
                p.terminate()
            for p in procs:
                p.wait()
            raise
        summary.seconds = time.perf_counter() - t0
        results = load_done(cfg.out, journals)
        summary.read = sum(1 for f in frames if f.id in results) - summary.resumed
        for i in range(n_proc):
            sp = summary_path(cfg.out, f"{i}/{n_proc}")
            if sp.exists():
                summary.failed += json.loads(sp.read_text(encoding="utf-8")).get("unreadable_files", [])
                sp.unlink()
        if any(codes):
            raise RuntimeError(f"{sum(1 for c in codes if c)} of {n_proc} shard processes failed (exit codes "
                               f"{codes}); rerun the same command to resume from their journals")
        _finish(cfg, frames, results, journals)
        return summary

    shard_frames = _shard(frames, cfg.shard)
    journal = journal_path(cfg.out, cfg.shard)
    # A shard reads the unsharded journal (consolidated by its parent) but never another shard's, which
    # may be mid-append; a single process reads every journal left by any earlier run.
    journals = [journal_path(cfg.out), journal] if cfg.shard else all_journals(cfg.out)
    done = load_done(cfg.out, journals)
    if cfg.shard:
        done = {f.id: done[f.id] for f in shard_frames if f.id in done}
    own = engine is None
    if own and any(f.id not in done for f in shard_frames):
        engine = load_engine_for(cfg)
    try:
        if engine is None:  # everything already read: no need to load a model
            summary.resumed = len(shard_frames)
            results = dict(done)
        else:
            results = read_frames(engine, shard_frames, journal, done, summary, progress)
    finally:
        if own and engine is not None:
            engine.close()
    summary.frames = len(shard_frames)
    if not cfg.shard:
        _finish(cfg, frames, results, journals)
    return summary


def _finish(cfg, frames: list[Frame], results: dict[str, str], journals: list[Path]) -> None:
    missing = [f.id for f in frames if f.id not in results]
    if missing:
        raise RuntimeError(f"{len(missing)} frames have no reading (first: {missing[0]}); rerun to resume")
    write_csv_predictions(cfg.out, {f.id: results[f.id] for f in frames})
    for j in journals:
        if j.exists():
            j.unlink()


__all__ = ["PredictSummary", "run_predict", "read_frames", "open_rgb", "journal_path", "all_journals", "load_engine_for"]
