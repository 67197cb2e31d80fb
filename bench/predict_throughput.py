""".venv/bin/python bench/predict_throughput.py [--model tiny:qwen2_vl] [--frames 32] [--new-tokens 16] [--batch-sizes 1 8]

Frames per second of ``subtitle-vlm predict --engine hf`` at batch 1 versus batch 8, measured side by side
in one process on the same frames (1280x720, through the whole predict loop: decode, crop, processor,
generate, journal). Every reading is forced to exactly --new-tokens tokens so both batch sizes generate the
same amount of text. ``engine_seconds`` is the part spent inside the engine (processor, generate,
detokenise); the rest is the loop around it (frame decoding not hidden behind the model, journaling).
Prints one JSON line; the target is speedup >= 3 on a CPU with the tiny model.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path


def make_frames(folder: Path, n: int) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(n):
        img = rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8)
        img[600:660, 320:960] = 250  # a subtitle-like bright band
        Image.fromarray(img).save(folder / f"frame_{i}.jpg", quality=90)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny:qwen2_vl")
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--new-tokens", type=int, default=16)
    p.add_argument("--batch-sizes", type=int, nargs=2, default=[1, 8])
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    a = p.parse_args(argv)

    import torch
    from PIL import Image

    if a.threads:
        torch.set_num_threads(a.threads)
    from subtitle_vlm.engines.hf import HFEngine
    from subtitle_vlm.predict.predict_config import PredictConfig
    from subtitle_vlm.predict.runner import run_predict

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "frames").mkdir()
        make_frames(tmp / "frames", a.frames)
        cfg = PredictConfig(input=str(tmp / "frames"), model=a.model, device=a.device, prompt="讀出字幕",
                            max_new_tokens=a.new_tokens)
        engine = HFEngine.from_config(cfg)
        gc = engine._gen_kwargs["generation_config"]
        gc.min_new_tokens = a.new_tokens  # same text length at every batch size
        # Warm-up: first calls pay one-off costs (kernel selection, allocator growth).
        engine.batch_size = max(a.batch_sizes)
        with Image.open(tmp / "frames" / "frame_0.jpg") as im:
            engine.read([im.convert("RGB")] * engine.batch_size)
        # Time inside engine.read (processor + generate + detokenise) apart from the loop around it
        # (decoding frames not hidden behind the model, journaling), to show where each batch size spends.
        in_engine = [0.0]
        read = engine.read

        def timed_read(images):
            t = time.perf_counter()
            try:
                return read(images)
            finally:
                in_engine[0] += time.perf_counter() - t

        engine.read = timed_read
        results = {}
        for bs in a.batch_sizes:
            in_engine[0] = 0.0
            engine.batch_size = bs
            out = tmp / f"pred_b{bs}.csv"
            t0 = time.perf_counter()
            summary = run_predict(PredictConfig(input=cfg.input, out=str(out), batch_size=bs, model=cfg.model,
                                                adapter=cfg.adapter, crop=cfg.crop), engine=engine,
                                  progress=False)
            secs = time.perf_counter() - t0
            results[bs] = {"frames_per_s": round(summary.read / secs, 3), "seconds": round(secs, 3),
                           "engine_seconds": round(in_engine[0], 3)}
        engine.close()
    b1, b8 = a.batch_sizes
    speedup = results[b8]["frames_per_s"] / results[b1]["frames_per_s"]
    print(json.dumps({
        "bench": "predict_throughput", "model": a.model, "device": a.device, "frames": a.frames,
        "new_tokens": a.new_tokens, f"batch{b1}": results[b1], f"batch{b8}": results[b8],
        "speedup": round(speedup, 2), "target_speedup": 3.0, "meets_target": speedup >= 3.0,
        "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "python": platform.python_version(),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
