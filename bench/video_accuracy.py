""".venv/bin/python bench/video_accuracy.py [--work DIR] [--duration 60] [--cues 24] [--seed 0] [--skip-naive] [--ticker 4 --tags] [--whole-frames]

Cue accuracy and speed of ``subtitle-vlm video`` with the PP-OCR engine on a synthesised video with a
known cue list (``synth-video``: 1280x720, 25 fps, pan and zoom over photographs, noise, distractor
captions, back-to-back cues and a repeated line), side by side with the naive way in the same run
(read every sampled frame, merge identical strings only, boundaries on the samples). Prints one JSON line:
recall, precision, matched-cue CER, boundary errors (median and p95, seconds and frames), split and
duplicated cues, reads, wall time and the real-time factor for each, plus the machine's load average
(other work on the machine slows both) and the process's CPU time (video seconds over CPU seconds is a
floor for the real-time factor the same run gets on an unshared machine).

``--ticker N`` adds a news ticker scrolling N px per frame under the subtitles and ``--tags`` lower-third
name tags (neither is a cue): the change detector must watch the subtitle's region only (``--crop auto``,
the default: the selector finds it and leaves the ticker and tags out).

PP-OCR searches only the rows of the watched region (with the whole frame as context for the selector);
``--whole-frames`` adds, in the same run, the pass that reads whole frames (``video --read-crop none``),
and the speed-up of the region over it.

The engine is loaded once, before timing, and shared by both runs; the real-time factor is video
seconds over the wall time of the whole pass (decode, band detection, reading, cue building).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from subtitle_vlm.video.run import run_video  # noqa: E402
from subtitle_vlm.video.srt import read_cues  # noqa: E402
from subtitle_vlm.video.srt_metrics import score_cues  # noqa: E402
from subtitle_vlm.video.synth_video import SynthVideoConfig, make_video  # noqa: E402
from subtitle_vlm.video.video_config import VideoConfig, naive  # noqa: E402


def _video(work: Path, a) -> tuple[Path, Path]:
    extra = (f"_ticker{a.ticker:g}" if a.ticker else "") + ("_tags" if a.tags else "")
    cfg = SynthVideoConfig(out=str(work / f"synth_{a.duration:g}s_{a.cues}cues_seed{a.seed}{extra}.mp4"),
                           duration=a.duration, cues=a.cues, seed=a.seed, size=a.size, fps=a.video_fps,
                           style=a.style, ticker=a.ticker, tags=a.tags, progress=False)
    cfg.validate()
    if not (Path(cfg.out).exists() and cfg.gold_path.exists()):
        make_video(cfg)
    return Path(cfg.out), cfg.gold_path


def _run(cfg: VideoConfig, engine, gold, fps: float) -> dict:
    Path(cfg.cache_path).unlink(missing_ok=True)
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_video(cfg, engine=engine, progress=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rep = score_cues(gold, read_cues(cfg.out), fps=fps)
    d = rep.as_dict(listed=5)
    punct = score_cues(gold, read_cues(cfg.out), fps=fps, profile="punct").as_dict()
    return {
        "cues": d["pred_cues"], "matched": d["matched"], "recall": d["recall"], "precision": d["precision"],
        "cer": d["cer"], "cer_punct_normalised": punct["cer"], "mean_levenshtein": d["mean_levenshtein"],
        "boundary_error_s": {k: d["boundary_error_s"][k] for k in ("median", "p95", "max")},
        "boundary_error_frames": {k: d["boundary_error_frames"][k] for k in ("median", "p95", "max")},
        "start_error_s_median": d["start_error_s"]["median"], "end_error_s_median": d["end_error_s"]["median"],
        "split_cues": d["split_cues"], "duplicated_cues": d["duplicated_cues"],
        "samples": res.stats.samples, "reads": res.stats.reads, "empty_bands_skipped": res.stats.empty,
        "seconds": round(wall, 2), "read_seconds": round(res.stats.read_seconds, 2),
        "realtime_factor": round(res.stats.video_seconds / wall, 2),
        # CPU seconds of this process (all threads): on an otherwise idle machine the wall time is at most
        # about this, so video seconds / CPU seconds is a floor for the unshared real-time factor.
        "cpu_seconds": round(cpu, 2), "realtime_factor_floor_unshared": round(res.stats.video_seconds / cpu, 2),
        "missed": d["missed"], "spurious": d["spurious"], "worst_text": d["worst_text"],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "subtitle_vlm_bench_video"),
                   help="folder for the video (kept for the next run) and the outputs")
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--cues", type=int, default=24)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", default="1280x720")
    p.add_argument("--video-fps", type=int, default=25)
    p.add_argument("--style", default="clean", choices=["clean", "tv", "hard"])
    p.add_argument("--fps", type=float, default=4.0, help="sampling rate of both runs")
    p.add_argument("--ticker", type=float, default=0.0, help="px per frame of a scrolling news ticker (0: none)")
    p.add_argument("--tags", action="store_true", help="lower-third name tags coming and going")
    p.add_argument("--crop", default="auto", help="the region watched for changes (video --crop)")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime threads (the target is 2 cores)")
    p.add_argument("--skip-naive", action="store_true", help="only the change-detecting run")
    p.add_argument("--whole-frames", action="store_true",
                   help="also the change-detecting run reading whole frames (--read-crop none)")
    p.add_argument("--keep", action="store_true", help="keep the work folder's outputs")
    a = p.parse_args()

    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    video, gold_path = _video(work, a)
    synth_s = time.perf_counter() - t0
    gold = read_cues(gold_path)

    from subtitle_vlm.engines.ppocr import PPOCREngine, PPOCROptions

    t0 = time.perf_counter()
    engine = PPOCREngine(PPOCROptions(threads=a.threads))
    load_s = time.perf_counter() - t0
    load_before = os.getloadavg()
    base = VideoConfig(input=str(video), out=str(work / "pred.srt"), fps=a.fps, crop=a.crop, progress=False)
    base.validate()
    out = {"bench": "video_accuracy", "engine": "ppocr",
           "video": {"seconds": a.duration, "size": a.size, "fps": a.video_fps, "gold_cues": len(gold),
                     "style": a.style, "seed": a.seed, "ticker_px_per_frame": a.ticker, "tags": a.tags,
                     "path": str(video), "synth_seconds": round(synth_s, 1)},
           "crop": a.crop,
           "sample_fps": a.fps, "engine_load_s": round(load_s, 2), "cpus": os.cpu_count(), "ort_threads": a.threads}
    out["ours"] = _run(base, engine, gold, a.video_fps)
    if a.whole_frames:
        whole = VideoConfig(input=str(video), out=str(work / "pred_whole.srt"), fps=a.fps, crop=a.crop,
                            read_crop="none", progress=False)
        out["whole_frames"] = _run(whole, engine, gold, a.video_fps)
        out["speedup_vs_whole_frames"] = round(out["whole_frames"]["seconds"] / out["ours"]["seconds"], 2)
    if not a.skip_naive:
        nv = naive(base)
        nv.out = str(work / "pred_naive.srt")
        out["naive"] = _run(nv, engine, gold, a.video_fps)
        out["speedup_vs_naive"] = round(out["naive"]["seconds"] / out["ours"]["seconds"], 2)
    out["load_average_1m"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    frame = 1.0 / a.video_fps
    o = out["ours"]
    out["targets"] = {
        "recall>=0.97": o["recall"] >= 0.97, "precision>=0.97": o["precision"] >= 0.97,
        "median_boundary<=1frame": (o["boundary_error_s"]["median"] or 0) <= frame + 1e-9,
        "p95_boundary<=0.25s": (o["boundary_error_s"]["p95"] or 0) <= 0.25,
        "cer<=0.03": (o["cer"] if o["cer"] is not None else 1) <= 0.03,
        "no_duplicates": o["duplicated_cues"] == 0, "realtime>=4x": o["realtime_factor"] >= 4.0,
    }
    engine.close()
    if not a.keep:
        for f in ("pred.srt", "pred_naive.srt", "pred_whole.srt"):
            (work / f).unlink(missing_ok=True)
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
