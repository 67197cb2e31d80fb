""".venv/bin/python bench/synth_throughput.py [--frames 150] [--rounds 3] [--backgrounds 16] [--style tv]

Synthesis speed at 1280x720, measured side by side in one run, printed as one JSON line. The
measurements alternate in rounds and each reports its best round, so load from other jobs on a shared
machine skews them less; CPU-time ratios (immune to waiting for a core) are reported beside them.

- ``floor_fps``: the least any renderer must do per frame - decode a 1920x1080 JPEG background, resize it
  to 1280x720, encode the JPEG and write it (atomically, like synth) - nothing drawn; one process.
- ``naive_fps``: the straightforward loop: the floor plus a subtitle with a 9-offset outline.
- ``worker_fps``: one synth worker's steady rate (sample + render + save each frame in this process).
- ``fps_1w`` / ``fps_2w``: ``run_synth`` end to end with 1 and 2 workers (loading assets, starting workers).
- ``ratio_worker_floor`` = worker_fps / floor_fps (target >= 0.6; ``cpu_ratio_worker_floor`` the same in
  CPU time); ``scaling_2w`` = fps_2w / fps_1w (target >= 1.7, meaningful only with 2 idle cores:
  ``load_avg_1m`` and ``cpus`` are reported beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw


def make_backgrounds(folder: Path, n: int) -> list[Path]:
    from subtitle_vlm.synth.backgrounds import builtin_refs, load_cover

    refs = builtin_refs("all")
    paths = []
    for i in range(n):
        im = load_cover(refs[i % len(refs)], 1920, 1080, 1.0).crop((0, 0, 1920, 1080))
        p = folder / f"bg_{i:03d}.jpg"
        im.save(p, quality=90)
        paths.append(p)
    return paths


def _clock():
    return time.perf_counter(), time.process_time()


def _rate(frames: int, t0) -> tuple[float, float]:
    wall, cpu = time.perf_counter() - t0[0], time.process_time() - t0[1]
    return frames / wall, frames / max(cpu, 1e-9)


def floor_loop(bgs: list[Path], out: Path, frames: int, draw_naive: bool = False) -> tuple[float, float]:
    from subtitle_vlm.io import save_image_atomic
    from subtitle_vlm.synth.fonts import discover_fonts, load_font

    font = None
    if draw_naive:
        info = discover_fonts(None)[0][0]
        font = load_font(info.path, info.index, 60, 400 if info.weight_range else None)
    out.mkdir(parents=True, exist_ok=True)
    t0 = _clock()
    for i in range(frames):
        with Image.open(bgs[i % len(bgs)]) as im:
            im = im.convert("RGB").resize((1280, 720), Image.Resampling.BILINEAR)
        if draw_naive:
            d = ImageDraw.Draw(im)
            text = "連長，第三排已經全部到齊了！"
            x, y = 200, 560
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    d.text((x + dx, y + dy), text, font=font, fill=(0, 0, 0))
            d.text((x, y), text, font=font, fill=(255, 255, 255))
        save_image_atomic(im, out / f"f{i:06d}.jpg", quality=90)
    return _rate(frames, t0)


def _cfg(bg_dir: Path, out: Path, frames: int, workers: int, style: str):
    from subtitle_vlm.synth import SynthConfig

    return SynthConfig(out=str(out), count=frames, workers=workers, style=style, backgrounds=str(bg_dir),
                       progress=False, seed=1)


def worker_loop(cfg, assets, start: int, frames: int) -> tuple[float, float]:
    from subtitle_vlm.synth.runner import make_frame

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = _clock()
    for i in range(start, start + frames):
        make_frame(i, cfg, assets, out)
    return _rate(frames, t0)


def synth_fps(cfg) -> float:
    from subtitle_vlm.synth import run_synth

    shutil.rmtree(cfg.out, ignore_errors=True)
    t = time.perf_counter()
    run_synth(cfg)
    return cfg.count / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=150, help="frames per measurement")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds; each measure keeps its best")
    ap.add_argument("--backgrounds", type=int, default=16)
    ap.add_argument("--style", default="tv")
    args = ap.parse_args()
    from subtitle_vlm.synth import load_assets

    tmp = Path(tempfile.mkdtemp(prefix="synth-bench-"))
    try:
        bg_dir = tmp / "bg"
        bg_dir.mkdir()
        bgs = make_backgrounds(bg_dir, args.backgrounds)
        wcfg = _cfg(bg_dir, tmp / "worker", args.frames, 1, args.style)
        assets = load_assets(wcfg)
        runs: dict[str, list[tuple[float, float]]] = {"floor": [], "naive": [], "worker": []}
        e2e: dict[str, list[float]] = {"1w": [], "2w": []}
        for r in range(args.rounds):
            runs["floor"].append(floor_loop(bgs, tmp / "floor", args.frames))
            runs["naive"].append(floor_loop(bgs, tmp / "naive", args.frames, draw_naive=True))
            runs["worker"].append(worker_loop(wcfg, assets, r * args.frames, args.frames))
            if r < 2:
                e2e["1w"].append(synth_fps(_cfg(bg_dir, tmp / "w1", args.frames, 1, args.style)))
                e2e["2w"].append(synth_fps(_cfg(bg_dir, tmp / "w2", args.frames, 2, args.style)))
        same = all((tmp / "w1" / p.name).read_bytes() == p.read_bytes() for p in sorted((tmp / "w2").glob("*.jpg")))
        best = {k: max(w for w, _ in v) for k, v in runs.items()}
        cpu = {k: max(c for _, c in v) for k, v in runs.items()}
        fps1, fps2 = max(e2e["1w"]), max(e2e["2w"])
        print(json.dumps({
            "bench": "synth_throughput", "size": "1280x720", "style": args.style, "frames": args.frames,
            "rounds": args.rounds, "backgrounds": args.backgrounds,
            "floor_fps": round(best["floor"], 2), "naive_fps": round(best["naive"], 2),
            "worker_fps": round(best["worker"], 2), "fps_1w": round(fps1, 2), "fps_2w": round(fps2, 2),
            "ratio_naive_floor": round(best["naive"] / best["floor"], 3),
            "ratio_worker_floor": round(best["worker"] / best["floor"], 3),
            "cpu_ratio_worker_floor": round(cpu["worker"] / cpu["floor"], 3),
            "cpu_ratio_naive_floor": round(cpu["naive"] / cpu["floor"], 3),
            "scaling_2w": round(fps2 / fps1, 3), "identical_1w_2w": same,
            "cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
        }))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
