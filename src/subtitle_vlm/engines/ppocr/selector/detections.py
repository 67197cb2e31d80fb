"""PP-OCR's detections of a frame set with everything the selector's features need, cached.

Detection is the slow part (about half a second a frame on two cores); features and labels are cheap. So
each frame's detections, their colour measurements and the frame strips they sit in are stored once, as
one JSON line per frame in ``<cache>/<frame set key>.jsonl``, appended as frames are read: an interrupted
run resumes, and training again with other model settings never runs the detector. The key covers the
frame set's metadata and the detector's options, so a changed frame set or detector is read afresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from subtitle_vlm.engines.ppocr.colors import BoxColors
from subtitle_vlm.engines.ppocr.detection import Detection
from subtitle_vlm.io import InputError, append_jsonl, read_jsonl

log = logging.getLogger(__name__)


def frame_set_key(frames_dir: Path, detector: dict) -> str:
    meta = frames_dir / "metadata.jsonl"
    h = hashlib.sha256(meta.read_bytes())
    h.update(json.dumps(detector, sort_keys=True).encode())
    return h.hexdigest()[:16]


def _det_to_json(d: Detection, strip) -> dict:
    return {"box": [round(float(v), 1) for v in d.box], "text": d.text, "score": round(float(d.score), 4),
            "colors": d.colors.as_dict() if d.colors is not None else None,
            "strip": [round(float(v), 4) for v in strip]}


def det_from_json(d: dict) -> Detection:
    c = d.get("colors")
    colors = None
    if c is not None:
        colors = BoxColors(fill_rgb=tuple(c["fill_rgb"]), fill_luma=c["fill_luma"],
                           fill_saturation=c["fill_saturation"], edge_luma=c["edge_luma"],
                           fill_fraction=c["fill_fraction"], border_fraction=c["border_fraction"])
    return Detection(tuple(d["box"]), d["text"], float(d["score"]), colors)


_engine = None


def _init_worker(threads: int) -> None:
    global _engine
    from subtitle_vlm.engines.ppocr.engine import PPOCROptions, _new_rapidocr

    # Only the detector runs here. A failure is kept and reported per frame: a pool whose initializer
    # raises starts new workers forever.
    try:
        _engine = _new_rapidocr(PPOCROptions(threads=threads))
    except Exception as e:  # noqa: BLE001 - reported to the parent with the frame it stopped
        _engine = e


def _detect_one(job: tuple[str, str]) -> dict:
    import numpy as np
    from PIL import Image

    from subtitle_vlm.engines.ppocr.engine import detect
    from subtitle_vlm.engines.ppocr.selector.features import strip_stats

    fid, path = job
    if isinstance(_engine, Exception):
        raise RuntimeError(f"the PP-OCR detector could not start: {_engine}")
    try:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
    except OSError as e:
        return {"id": fid, "error": f"{path}: {e}"}
    dets, w, h = detect(_engine, rgb, False)
    return {"id": fid, "w": w, "h": h, "dets": [_det_to_json(d, strip_stats(rgb, d.box)) for d in dets]}


def detect_frame_set(frames_dir: str | Path, cache_dir: str | Path, workers: int = 1, limit: int = 0,
                     progress: bool = True) -> list[dict]:
    """One dict per frame of ``frames_dir`` (in metadata order): ``id, record, w, h, dets`` (JSON form).
    Frames the detector could not open are skipped and logged."""
    frames_dir = Path(frames_dir)
    meta = frames_dir / "metadata.jsonl"
    if not meta.is_file():
        raise InputError(f"{frames_dir}: no metadata.jsonl; train-selector learns from frame sets made by "
                         "`subtitle-vlm synth` (their records name every text drawn)")
    records = read_jsonl(meta)
    if limit:
        records = records[:limit]
    from subtitle_vlm.engines.ppocr.engine import PPOCROptions

    detector = {k: v for k, v in PPOCROptions().__dict__.items() if k != "threads"}
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache = cache_dir / f"{frames_dir.name}-{frame_set_key(frames_dir, detector)}.jsonl"
    done = {r["id"]: r for r in read_jsonl(cache, tolerate_partial_last_line=True)} if cache.exists() else {}
    if cache.exists():
        from subtitle_vlm.io import repair_jsonl_tail

        repair_jsonl_tail(cache)
    jobs = []
    for i, rec in enumerate(records):
        if "file_name" not in rec:
            raise InputError(f"{meta}: line {i + 1} has no file_name")
        fid = Path(rec["file_name"]).stem
        if fid not in done:
            jobs.append((fid, str(frames_dir / rec["file_name"])))
    if jobs:
        from tqdm import tqdm

        threads = max(1, (os.cpu_count() or 1) // max(1, workers))
        bar = tqdm(total=len(jobs), desc=f"detect {frames_dir.name}", disable=not progress, unit="frame")
        if workers > 1:
            import multiprocessing as mp

            with mp.get_context("spawn").Pool(workers, _init_worker, (threads,)) as pool:
                for res in pool.imap(_detect_one, jobs, chunksize=4):
                    append_jsonl(cache, [res])
                    done[res["id"]] = res
                    bar.update()
        else:
            _init_worker(threads)
            for job in jobs:
                res = _detect_one(job)
                append_jsonl(cache, [res])
                done[res["id"]] = res
                bar.update()
        bar.close()
    out = []
    for rec in records:
        fid = Path(rec["file_name"]).stem
        row = done.get(fid)
        if row is None or "error" in row:
            log.warning("skipped %s: %s", fid, (row or {}).get("error", "not detected"))
            continue
        out.append({**row, "record": rec, "frames_dir": str(frames_dir)})
    return out


__all__ = ["det_from_json", "detect_frame_set", "frame_set_key"]
