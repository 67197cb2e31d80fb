"""The predict loop every engine shares.

Rows are appended to a journal (``<out>.journal.jsonl``) as each batch finishes, so an interrupted run
loses at most the batch in flight; a rerun skips every id already journaled (or already in ``<out>``).
The CSV itself is written once, atomically, in natural id order. With ``workers``/``data_parallel`` > 1
the frames are split into interleaved shards, one process each, each with its own journal; the parent
merges them in order. Journals left by an earlier run with another process count are folded into the
unsharded journal first, so a rerun with different ``--workers`` still resumes.

Rows are resumed only when ``<out>.resume.json`` shows they were read from the same input with the same
settings (see ``predict.resume``), and ``<out>.lock`` keeps a second run off the same output meanwhile.

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

from subtitle_vlm.io import (Frame, InputError, append_jsonl, check_output, check_writable_dir, output_lock,
                             read_csv_predictions, read_frame_set, read_jsonl, repair_jsonl_tail,
                             write_csv_predictions)

log = logging.getLogger(__name__)


@dataclass
class PredictSummary:
    frames: int = 0
    read: int = 0
    resumed: int = 0
    failed: list[str] = field(default_factory=list)
    no_end_marker: list[str] = field(default_factory=list)  # JPEGs read although their end marker is missing
    seconds: float = 0.0

    @property
    def fps(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return {"frames": self.frames, "read": self.read, "resumed": self.resumed,
                "unreadable": len(self.failed), "seconds": round(self.seconds, 3), "frames_per_s": round(self.fps, 3),
                "unreadable_files": list(self.failed), "jpeg_without_end_marker": list(self.no_end_marker)}

    def __str__(self) -> str:
        s = (f"{self.frames} frames: {self.read} read this run ({self.fps:.2f} frames/s), "
             f"{self.resumed} already done")
        if self.failed:
            s += f", {len(self.failed)} unreadable (empty prediction): {', '.join(self.failed[:5])}"
            if len(self.failed) > 5:
                s += ", ..."
        if self.no_end_marker:
            s += (f", {len(self.no_end_marker)} JPEGs without their end marker read as they are: "
                  f"{', '.join(self.no_end_marker[:5])}" + (", ..." if len(self.no_end_marker) > 5 else ""))
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


NO_END_MARKER = "subtitle_vlm_no_end_marker"  # image.info key: read although its JPEG end marker is missing


def _decode_rgb(source):
    """Decode fully into RGB; PIL raises many types for broken files, all meaning "unreadable"."""
    from PIL import Image

    im = Image.open(source)
    try:
        im.load()
        # Single-image formats close their file once loaded; an RGB one is then returned as is, sparing
        # a full-frame copy. Anything else (other modes, multi-frame files that keep the file open) is
        # converted into a fresh image and the original closed.
        if im.mode == "RGB" and getattr(im, "fp", None) is None:
            return im
        out = im.convert("RGB")
    except BaseException:
        im.close()
        raise
    im.close()
    return out


# Fillers to put after the scan data (see _jpeg_without_end_marker): no 0xFF, so no JPEG marker, and
# complementary bits, so a decoder that takes them as picture data cannot decode both alike.
_FILLERS = (b"\x55" * 512, b"\xaa" * 512)


def _jpeg_without_end_marker(path: Path):
    """The image of a JPEG whose only fault is a missing end marker (EOI), else None.

    The test: decode it with the marker added, and again with each of two filler runs before the marker.
    A decoder that got every byte of the picture ignores anything after it, so all three agree; a JPEG cut
    short inside its picture data reads the filler as picture, so they differ, and it stays unreadable.
    (Pillow's LOAD_TRUNCATED_IMAGES would accept both kinds, filling the lost part with grey.)
    """
    import io

    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not data.startswith(b"\xff\xd8") or data.endswith(b"\xff\xd9"):
        return None
    try:
        whole = _decode_rgb(io.BytesIO(data + b"\xff\xd9"))
        for filler in _FILLERS:
            padded = _decode_rgb(io.BytesIO(data + filler + b"\xff\xd9"))
            if whole.size != padded.size or whole.tobytes() != padded.tobytes():
                return None
    except Exception:  # noqa: BLE001 - still not decodable: unreadable as before
        return None
    whole.info[NO_END_MARKER] = True
    return whole


def open_rgb(path: Path):
    """Open a frame as RGB; returns None (and logs) when it cannot be decoded. A JPEG missing only its
    end marker is read (decoders do) and marked in ``image.info[NO_END_MARKER]``."""
    path = Path(path)
    try:
        return _decode_rgb(path)
    except Exception as e:  # PIL raises many types for broken files; all mean "unreadable"
        im = _jpeg_without_end_marker(path)
        if im is not None:
            log.warning("frame %s: JPEG without its end marker; every picture byte is there, reading it as is", path)
            return im
        log.warning("unreadable frame %s (%s): writing an empty prediction", path, e.__class__.__name__)
        return None


def select_frames(cfg, listing: list[Frame] | None = None) -> list[Frame]:
    """The frames to read: ``listing`` (the input's frames, read here when not given) up to ``--limit``."""
    frames = read_frame_set(cfg.input) if listing is None else listing
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
                progress: bool = True, crop: str | None = None) -> dict[str, str]:
    """Read ``frames`` not in ``done`` batch by batch, journaling each batch; returns all readings.

    Each frame is cropped to ``crop`` (a spec, None for the whole frame) before the engine reads it; the
    next batch is decoded and cropped in background threads while the engine reads the current one.
    """
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    from subtitle_vlm.crop import crop_image, crop_or_none, parse_crop

    results = dict(done)
    todo = [f for f in frames if f.id not in done]
    summary.resumed += len(frames) - len(todo)
    bar = tqdm(total=len(todo), unit="frame", disable=not progress, desc=f"predict[{engine.name}]")
    t0 = time.perf_counter()
    bs = max(1, int(getattr(engine, "batch_size", 1)))
    crop = crop_or_none(crop)
    auto = crop is not None and parse_crop(crop).kind == "auto"
    if auto:
        # 'auto' is the box PP-OCR's subtitle selector finds in each frame (needs the ppocr extra).
        from subtitle_vlm.engines.ppocr import resolve_auto_crop as crop_one
    else:
        def crop_one(im):
            return crop_image(im, crop)

    def load(fr: Frame):
        im = open_rgb(fr.path)
        if im is None:
            return None, False
        flagged = bool(im.info.get(NO_END_MARKER))
        return (crop_one(im) if crop else im), flagged

    batches = [todo[i:i + bs] for i in range(0, len(todo), bs)]
    pool = ThreadPoolExecutor(max_workers=prefetch_workers(bs, auto), thread_name_prefix="predict-decode")
    try:
        pending = [pool.submit(load, fr) for fr in batches[0]] if batches else []
        for k, batch in enumerate(batches):
            loaded = [f.result() for f in pending]
            pending = [pool.submit(load, fr) for fr in batches[k + 1]] if k + 1 < len(batches) else []
            images, ok = [], []
            for fr, (im, flagged) in zip(batch, loaded):
                if flagged:
                    summary.no_end_marker.append(str(fr.path))
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
                "--dtype", cfg.dtype, "--limit", str(cfg.limit),
                "--engine-options", json.dumps(cfg.engine_options), "--seed", str(cfg.seed),
                "--trust-remote-code", str(cfg.trust_remote_code).lower()]
        opts = ["model", "adapter", "prompt", "crop"] + ([] if gpus else ["device_map", "max_memory"])
        for opt in opts:
            if getattr(cfg, opt) is not None:
                args += [f"--{opt.replace('_', '-')}", str(getattr(cfg, opt))]
        # Only when the user chose it: a budget passed on by default would hide the run config's in the shard.
        from subtitle_vlm.config import is_given

        if is_given(cfg, "max_new_tokens"):
            args += ["--max-new-tokens", str(cfg.max_new_tokens)]
        args += ["--summary-json", str(summary_path(cfg.out, f"{i}/{n}"))]
        if i:
            args += ["--no-progress"]
        procs.append(subprocess.Popen(args, env=env))
    return procs


def run_predict(cfg, engine=None, progress: bool = True) -> PredictSummary:
    """Read every frame of ``cfg.input`` into ``cfg.out``. ``engine`` may be passed in (tests, benchmarks).

    Checks the output, takes its lock and decides whether the rows already there may be resumed, then
    reads in one of two modes: spawned shard processes (``workers``/``data_parallel`` > 1) or this process.
    A shard process itself (``cfg.shard``) skips the checks: its parent made them and holds the lock.
    """
    if cfg.shard:
        return _run_in_process(cfg, select_frames(cfg), engine, progress)
    from subtitle_vlm.predict.resume import check_resumable, discard, make_record, resume_path, write_record

    listing = read_frame_set(cfg.input)
    frames = select_frames(cfg, listing)
    out = check_output(cfg.out, flag="--out", command="predict", inputs=[("--input", cfg.input)],
                       suffixes=(".csv",), kind="Kaggle CSV (id,text)", overwrite=True)
    check_writable_dir(out.resolve().parent)
    with output_lock(out, "predict"):
        leftovers = all_journals(out) + _shard_summaries(out)
        if not check_resumable(out, make_record(cfg, listing), leftovers, cfg.overwrite):
            if cfg.overwrite and any(p.exists() for p in [out, *leftovers]):
                log.warning("--overwrite: discarding the rows already at %s and reading every frame afresh", out)
            discard([out, resume_path(out), *leftovers])
        write_record(out, make_record(cfg, listing))
        n_proc = cfg.data_parallel or (cfg.workers if cfg.workers > 1 else 0)
        if n_proc > 1 and engine is None:
            return _run_sharded(cfg, frames, n_proc)
        return _run_in_process(cfg, frames, engine, progress)


def _shard_summaries(out: str | Path) -> list[Path]:
    out = Path(out)
    return sorted(out.parent.glob(glob.escape(out.name) + ".shard*.summary.json"))


def _run_sharded(cfg, frames: list[Frame], n_proc: int) -> PredictSummary:
    """Spawned-shards mode: one ``predict --shard i/n`` process per shard, each journaling its rows; this
    process waits, gathers their summaries and writes the CSV from every journal."""
    summary = PredictSummary(frames=len(frames))
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
            child = json.loads(sp.read_text(encoding="utf-8"))
            summary.failed += child.get("unreadable_files", [])
            summary.no_end_marker += child.get("jpeg_without_end_marker", [])
            sp.unlink()
    if any(codes):
        raise RuntimeError(f"{sum(1 for c in codes if c)} of {n_proc} shard processes failed (exit codes "
                           f"{codes}); rerun the same command to resume from their journals")
    _finish(cfg, frames, results, journals)
    return summary


def _run_in_process(cfg, frames: list[Frame], engine=None, progress: bool = True) -> PredictSummary:
    """Single-process mode: read the frames (this shard's, when ``cfg.shard``) here, journaling each batch.
    The engine is loaded only when some frame is left to read. The crop is resolved here, once, from
    ``--crop`` and the run config (``engines.settings.resolve_crop``), and every frame is cropped before
    the engine reads it."""
    from subtitle_vlm.engines.settings import crop_for, resolve_crop

    shard_frames = _shard(frames, cfg.shard)
    summary = PredictSummary(frames=len(shard_frames))
    journal = journal_path(cfg.out, cfg.shard)
    # A shard reads the unsharded journal (consolidated by its parent) but never another shard's, which
    # may be mid-append; a single process reads every journal left by any earlier run.
    journals = [journal_path(cfg.out), journal] if cfg.shard else all_journals(cfg.out)
    done = load_done(cfg.out, journals)
    if cfg.shard:
        done = {f.id: done[f.id] for f in shard_frames if f.id in done}
    own = engine is None
    left = any(f.id not in done for f in shard_frames)
    # A bad --crop or run-config crop fails here, before a model is loaded.
    crop = resolve_crop(cfg) if left else None
    if own and left:
        engine = load_engine_for(cfg)
    try:
        if engine is None:  # everything already read: no need to load a model
            summary.resumed = len(shard_frames)
            results = dict(done)
        else:
            crop = crop_for(engine, crop)
            results = read_frames(engine, shard_frames, journal, done, summary, progress, crop)
    finally:
        if own and engine is not None:
            engine.close()
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
