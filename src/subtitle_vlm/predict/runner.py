"""The predict loop every engine shares.

Rows are appended to a journal (``<out>.journal.jsonl``) as each batch finishes, so an interrupted run
loses at most the batch in flight; a rerun skips every id already journaled (or already in ``<out>``).
The CSV itself is written once, atomically, in natural id order. With ``workers``/``data_parallel`` > 1
the frames are split into interleaved shards, one process each, each with its own journal; the parent
merges them in order.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
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
                "unreadable": len(self.failed), "seconds": round(self.seconds, 3), "frames_per_s": round(self.fps, 3)}

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


def load_done(out: str | Path, journals: list[Path]) -> dict[str, str]:
    done: dict[str, str] = {}
    if Path(out).exists():
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
        with Image.open(path) as im:
            im.load()
            return im.convert("RGB")
    except Exception as e:  # PIL raises many types for broken files; all mean "unreadable"
        log.warning("unreadable frame %s (%s): writing an empty prediction", path, e.__class__.__name__)
        return None


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


def read_frames(engine, frames: list[Frame], journal: Path, done: dict[str, str], summary: PredictSummary,
                progress: bool = True) -> dict[str, str]:
    """Read ``frames`` not in ``done`` batch by batch, journaling each batch; returns all readings."""
    from tqdm import tqdm

    from subtitle_vlm.crop import crop_image

    results = dict(done)
    todo = [f for f in frames if f.id not in done]
    summary.resumed += len(frames) - len(todo)
    bar = tqdm(total=len(todo), unit="frame", disable=not progress, desc=f"predict[{engine.name}]")
    t0 = time.perf_counter()
    bs = max(1, int(getattr(engine, "batch_size", 1)))
    crop = getattr(engine, "crop", None)
    try:
        for start in range(0, len(todo), bs):
            batch = todo[start:start + bs]
            images, ok = [], []
            for fr in batch:
                im = open_rgb(fr.path)
                if im is None:
                    summary.failed.append(str(fr.path))
                    continue
                images.append(crop_image(im, crop) if crop else im)
                ok.append(fr)
            texts = engine.read(images) if images else []
            if len(texts) != len(images):
                raise RuntimeError(f"engine {engine.name} returned {len(texts)} readings for {len(images)} images")
            rows = {fr.id: "" for fr in batch}
            rows.update({fr.id: " ".join(t.split("\n")).strip() for fr, t in zip(ok, texts)})
            append_jsonl(journal, [{"id": k, "text": v} for k, v in rows.items()])
            results.update(rows)
            summary.read += len(batch)
            bar.update(len(batch))
            el = time.perf_counter() - t0
            bar.set_postfix(fps=f"{summary.read / el:.2f}" if el else "-")
    finally:
        bar.close()
        summary.seconds += time.perf_counter() - t0
    return results


def _spawn_shards(cfg, n: int, gpus: bool) -> list[subprocess.Popen]:
    """Start one ``subtitle-vlm predict --shard i/n`` process per shard (GPU i when ``gpus``)."""
    import json as _json

    procs = []
    for i in range(n):
        env = dict(os.environ)
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = str(i)
        args = [sys.executable, "-m", "subtitle_vlm", "predict", "--input", cfg.input, "--out", cfg.out,
                "--engine", cfg.engine, "--batch-size", str(cfg.batch_size), "--shard", f"{i}/{n}",
                "--workers", "1", "--data-parallel", "0", "--device", "cuda:0" if gpus else cfg.device,
                "--dtype", cfg.dtype, "--max-new-tokens", str(cfg.max_new_tokens), "--limit", str(cfg.limit),
                "--engine-options", _json.dumps(cfg.engine_options), "--seed", str(cfg.seed),
                "--trust-remote-code", str(cfg.trust_remote_code).lower()]
        for opt in ("model", "adapter", "prompt", "crop"):
            if getattr(cfg, opt) is not None:
                args += [f"--{opt}", str(getattr(cfg, opt))]
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
        journals = [journal_path(cfg.out, f"{i}/{n_proc}") for i in range(n_proc)]
        before = load_done(cfg.out, journals)
        summary.resumed = sum(1 for f in frames if f.id in before)
        t0 = time.perf_counter()
        procs = _spawn_shards(cfg, n_proc, gpus=bool(cfg.data_parallel))
        codes = [p.wait() for p in procs]
        summary.seconds = time.perf_counter() - t0
        results = load_done(cfg.out, journals)
        summary.read = sum(1 for f in frames if f.id in results) - summary.resumed
        if any(codes):
            raise RuntimeError(f"{sum(1 for c in codes if c)} of {n_proc} shard processes failed (exit codes "
                               f"{codes}); rerun the same command to resume from their journals")
        _finish(cfg, frames, results, journals)
        return summary

    shard_frames = _shard(frames, cfg.shard)
    journal = journal_path(cfg.out, cfg.shard)
    done = load_done(cfg.out if not cfg.shard else Path("/nonexistent"), [journal])
    own = engine is None
    if own:
        from subtitle_vlm.engines import load_engine

        engine = load_engine(cfg.engine, cfg)
    try:
        results = read_frames(engine, shard_frames, journal, done, summary, progress)
    finally:
        if own:
            engine.close()
    summary.frames = len(shard_frames)
    if not cfg.shard:
        _finish(cfg, frames, results, [journal])
    return summary


def _finish(cfg, frames: list[Frame], results: dict[str, str], journals: list[Path]) -> None:
    missing = [f.id for f in frames if f.id not in results]
    if missing:
        raise RuntimeError(f"{len(missing)} frames have no reading (first: {missing[0]}); rerun to resume")
    write_csv_predictions(cfg.out, {f.id: results[f.id] for f in frames})
    for j in journals:
        if j.exists():
            j.unlink()


__all__ = ["PredictSummary", "run_predict", "read_frames", "open_rgb", "journal_path", "replace"]
