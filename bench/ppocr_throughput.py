""".venv/bin/python bench/ppocr_throughput.py [--frames 60 --workers 1 2]

Frames per second of ``subtitle-vlm predict --engine ppocr`` with 1 and with 2 worker processes, side by side
on the same 1280x720 frames (the hard synthesis preset: busy photographs with scene text, distractors, degradations). Each
run is the whole command in a fresh process - start-up, model loading, decoding, detection, recognition,
selection, journal, CSV - timed on the wall clock; ``frames_per_s_reading`` leaves out start-up and model
loading (as reported by predict's own summary). onnxruntime gets (CPU count / workers) threads per process.
The load average before each run is reported too: other work on the machine depresses the wall-clock
numbers, so each run also reports the CPU seconds its processes used per frame, and
``frames_per_s_if_cores_free`` = CPU count / (CPU seconds per frame): what the same work gives when nothing
else competes for the cores (every run can keep all cores busy: its processes' threads add up to the CPU
count). Prints one JSON line; the target is >= 2 frames/s with 2 workers on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--seed", type=int, default=99)
    p.add_argument("--frames-dir", default=None,
                   help="read this frame set instead of synthesising one (e.g. to compare engine versions on the same frames)")
    a = p.parse_args(argv)

    from subtitle_vlm.synth import SynthConfig, run_synth

    result: dict = {"bench": "ppocr_throughput", "frames": a.frames, "cpu_count": os.cpu_count(), "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        frames = tmp / "frames"
        if a.frames_dir:
            frames = Path(a.frames_dir)
        else:
            run_synth(SynthConfig(out=str(frames), count=a.frames, seed=a.seed, style="hard", progress=False))
        for n in a.workers:
            out = tmp / f"pred_w{n}.csv"
            summary = tmp / f"summary_w{n}.json"
            load = os.getloadavg()[0]
            ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "subtitle_vlm", "predict", "--engine", "ppocr", "--input",
                            str(frames), "--out", str(out), "--workers", str(n), "--no-progress",
                            "--summary-json", str(summary)] + (["--limit", str(a.frames)] if a.frames_dir else []),
                           check=True)
            wall = time.perf_counter() - t0
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu_per_frame = ((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)) / a.frames
            s = json.loads(summary.read_text(encoding="utf-8"))
            result["runs"].append({"workers": n, "wall_s": round(wall, 2),
                                   "frames_per_s_wall": round(a.frames / wall, 3),
                                   "frames_per_s_reading": s.get("frames_per_s"),
                                   "cpu_s_per_frame": round(cpu_per_frame, 3),
                                   "frames_per_s_if_cores_free": round((os.cpu_count() or 1) / cpu_per_frame, 3),
                                   "load_avg_before": round(load, 2)})
    by = {r["workers"]: r for r in result["runs"]}
    if 1 in by and 2 in by:
        result["speedup_2_over_1_wall"] = round(by[2]["frames_per_s_wall"] / by[1]["frames_per_s_wall"], 3)
        result["target_2fps_with_2_workers"] = {"wall": by[2]["frames_per_s_wall"] >= 2.0,
                                                "if_cores_free": by[2]["frames_per_s_if_cores_free"] >= 2.0}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
