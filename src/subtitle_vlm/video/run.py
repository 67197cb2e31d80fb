"""``run_video(cfg)``: a video file in, cues out (and the subtitle file, the cue frames, the cache).

The library entry point behind ``subtitle-vlm video``; the benchmark calls it too, with an engine it
loaded once.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from subtitle_vlm.io import InputError, atomic_open, check_writable_dir, write_csv_predictions
from subtitle_vlm.video.cache import ReadingsCache, cache_key
from subtitle_vlm.video.cues import State, build_cues
from subtitle_vlm.video.decode import VideoInfo, file_fingerprint, grab_frames, probe
from subtitle_vlm.video.extract import Extractor, ExtractStats
from subtitle_vlm.video.reader import Reader
from subtitle_vlm.video.srt import Cue, write_cues


log = logging.getLogger(__name__)

AUTO_PROBES = 6  # frames PP-OCR looks at to find the band for --crop auto
AUTO_FALLBACK = "bottom=0.33"


@dataclass
class VideoResult:
    cues: list[Cue]
    states: list[State]
    stats: ExtractStats
    info: VideoInfo
    band_box: tuple[int, int, int, int]
    notes: list[str] = field(default_factory=list)

    @property
    def short_by(self) -> float:
        """Seconds the decoded video falls short of the length its container declares (0 when it does not,
        or when the container declares none)."""
        return short_of_declared(self.info, self.stats.video_seconds)

    def summary(self) -> str:
        s = self.stats
        text = (f"{s.video_seconds:.1f} s of video, {s.frames} frames, {s.samples} samples, {s.reads} read "
                f"({s.cached} from the cache, {s.empty} empty bands skipped), {len(self.cues)} cues; "
                f"{s.realtime_factor:.1f}x real time")
        if self.short_by:
            text += f"; TRUNCATED: the file declares {self.info.duration:.1f} s"
        return text

    def as_dict(self) -> dict:
        """The counts of ``--summary-json``."""
        return {"cues": len(self.cues), "band_box": list(self.band_box), **self.stats.as_dict(),
                "declared_seconds": self.info.duration, "truncated": bool(self.short_by),
                "missing_seconds": round(self.short_by, 3)}


def short_of_declared(info: VideoInfo, decoded_seconds: float) -> float:
    """How far ``decoded_seconds`` falls short of ``info.duration``, beyond what container rounding and a
    last frame's length explain (half a second, or 2% of a long video)."""
    if not info.duration or info.duration <= 0:
        return 0.0
    missing = info.duration - decoded_seconds
    return missing if missing > max(0.5, 0.02 * info.duration) else 0.0


def predict_config_for(cfg):
    """The PredictConfig an engine is built from, filled from the video options."""
    from subtitle_vlm.predict.predict_config import PredictConfig

    read_crop = cfg.read_crop if cfg.read_crop not in (None, "band") else None
    return PredictConfig(input=cfg.input, out=cfg.out, engine=cfg.engine, model=cfg.model, adapter=cfg.adapter,
                         batch_size=cfg.batch_size or 8, device=cfg.device, dtype=cfg.dtype,
                         max_new_tokens=cfg.max_new_tokens, prompt=cfg.prompt, crop=read_crop,
                         trust_remote_code=cfg.trust_remote_code, engine_options=dict(cfg.engine_options),
                         seed=cfg.seed)


def load_video_engine(cfg):
    from subtitle_vlm.engines import load_engine

    try:
        return load_engine(cfg.engine, predict_config_for(cfg))
    except ValueError as e:
        raise InputError(str(e)) from None


def auto_band(path: str, info: VideoInfo, engine=None) -> tuple[tuple[int, int, int, int] | None, str]:
    """Find the subtitle's region with the PP-OCR selector on a few frames (``video.region``): the rows
    every subtitle found covers, padded by half a line, clear of the text the selector turned down (a
    ticker, a tag). None when no subtitle is found."""
    from subtitle_vlm.video.region import subtitle_region

    select = getattr(engine, "select", None)
    if select is None:
        from subtitle_vlm.engines.ppocr.engine import _shared_engine

        select = _shared_engine().select
    sels = [select(im) for im in grab_frames(path, AUTO_PROBES)]
    box = subtitle_region(sels, info.width, info.height)
    if box is None:
        return None, f"--crop auto: PP-OCR found no subtitle on {AUTO_PROBES} frames; watching {AUTO_FALLBACK}"
    found = sum(1 for s in sels if s.box)
    return box, (f"--crop auto: subtitle region x {box[0]}-{box[2]}, rows {box[1]}-{box[3]} from {found} frames")


def resolve_band(cfg, info: VideoInfo, engine=None) -> tuple[tuple[int, int, int, int], list[str]]:
    from subtitle_vlm.video.band import band_box

    if cfg.crop.strip().lower() == "auto":
        box, note = auto_band(cfg.input, info, engine)
        return (box or band_box(AUTO_FALLBACK, info.width, info.height)), [note]
    return band_box(cfg.crop, info.width, info.height), []


def reader_view(cfg, engine, box, info: VideoInfo) -> tuple[dict, str | None]:
    """Which pixels the reader hands the engine: (``Reader`` keyword arguments, what the readings cache is
    keyed on).

    ``--read-crop band``: the watched band. Otherwise an engine that finds the subtitle in whole frames
    (PP-OCR) gets them whole and searches the band's rows (``read_region``), unless ``--read-crop`` names a
    crop; any other engine gets the run's crop (``--read-crop`` > the model's run config, resolved as predict
    does), with ``auto`` taken as the band found for the subtitle."""
    if cfg.read_crop == "band":
        return {"crop_box": box}, f"band={','.join(map(str, box))}"
    if cfg.read_crop is None and getattr(engine, "reads_whole_frame", False):
        search = getattr(engine, "search_rows", None)
        rows = search(box, info.width, info.height) if search is not None else None
        return {"region": box}, f"region={','.join(map(str, box))};rows={rows}"
    from subtitle_vlm.engines.settings import crop_for, resolve_crop

    crop = crop_for(engine, resolve_crop(predict_config_for(cfg)))
    if crop == "auto":
        return {"crop_box": box}, f"auto={','.join(map(str, box))}"
    return {"engine_crop": crop}, crop


def _write_frames_out(folder: Path, staging: Path, cues: list[Cue], stem: str, video: str) -> int:
    """Move each cue's frame out of staging, write metadata.jsonl and readings.csv; returns frames kept."""
    import json

    rows, meta = [], []
    for i, c in enumerate(cues, 1):
        idx = c.extra.get("frame_index")
        src = staging / f"{idx}.jpg"
        if idx is None or not src.exists():
            continue
        fid = f"{stem}_{i:04d}"
        os.replace(src, folder / f"{fid}.jpg")
        rows.append((fid, c.text))
        meta.append({"file_name": f"{fid}.jpg", "text": c.text, "start": round(c.start, 3), "end": round(c.end, 3),
                     "frame_time": c.extra.get("frame_time"), "video": video})
    with atomic_open(folder / "metadata.jsonl") as f:
        for m in meta:
            f.write(json.dumps(m, ensure_ascii=False) + "\n")
    write_csv_predictions(folder / "readings.csv", rows)
    shutil.rmtree(staging, ignore_errors=True)
    return len(rows)


def run_video(cfg, engine=None, progress: bool | None = None, write: bool = True) -> VideoResult:
    """Read ``cfg.input`` into cues; with ``write`` also write ``cfg.out`` (and --frames-out). ``engine``
    may be passed in (tests, benchmarks); otherwise it is loaded from the options and closed after."""
    out = Path(cfg.out)
    if write:
        cfg.check_outputs()
    info = probe(cfg.input)
    if write:
        check_writable_dir(out.resolve().parent)
    own = engine is None
    if own:
        engine = load_video_engine(cfg)
    try:
        box, notes = resolve_band(cfg, info, engine)
        desc = engine.describe() if hasattr(engine, "describe") else {"engine": getattr(engine, "name", "?")}
        view, seen = reader_view(cfg, engine, box, info)
        cache = ReadingsCache(cfg.cache_path, cache_key(file_fingerprint(cfg.input), desc, seen),
                              {"video": str(cfg.input), "engine": desc})
        staging = None
        if cfg.frames_out:
            folder = check_writable_dir(cfg.frames_out)
            staging = folder / ".staging"
            staging.mkdir(exist_ok=True)
        stats = ExtractStats()
        reader = Reader(engine=engine, cache=cache, stats=stats, **view, staging=staging, batch_size=max(1, cfg.batch_size or int(getattr(engine, "batch_size", 1))),
                        max_retries=cfg.retries, background=cfg.background_reads)
        if cache.resumed:
            notes.append(f"resuming: {cache.resumed} readings from {cache.path}")
        extractor = Extractor(cfg, reader, box, info, progress=cfg.progress if progress is None else progress)
        states = extractor.run(cfg.input)
    finally:
        if own:
            engine.close()
    cues = build_cues(states, cfg.similarity, cfg.min_duration, cfg.merge_gap)
    result = VideoResult(cues, states, stats, info, box, notes)
    if result.short_by:
        # A cut file (an interrupted download or copy) decodes without an error up to the cut: say so, or
        # its cues would pass for the whole video's.
        warning = (f"{cfg.input}: decoded {stats.video_seconds:.1f} s of the {info.duration:.1f} s the file "
                   f"declares: it looks truncated, and cues after {stats.video_seconds:.1f} s are missing; "
                   "check the file (or fetch it again)")
        log.warning(warning)
    if write:
        meta = {"video": str(cfg.input), "band_box": list(box), "stats": stats.as_dict(), "info": info.as_dict(),
                "truncated": bool(result.short_by), "missing_seconds": round(result.short_by, 3)}
        write_cues(out, cues, cfg.output_format, meta)
        if cfg.frames_out:
            kept = _write_frames_out(Path(cfg.frames_out), staging, cues, Path(cfg.input).stem, str(cfg.input))
            notes.append(f"wrote {kept} cue frames with metadata.jsonl and readings.csv to {cfg.frames_out}")
        if not cfg.keep_cache:
            cache.remove()
    return result


__all__ = ["VideoResult", "short_of_declared", "run_video", "load_video_engine", "resolve_band", "predict_config_for"]
