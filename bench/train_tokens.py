""".venv/bin/python bench/train_tokens.py [--steps 5] [--batch 2] [--capped-pixels 200704]

Image tokens per sample and seconds per training step for a full 1280x720 frame versus its cropped
subtitle band (bottom third), Qwen2-VL family, at the image processor's default pixel budget and at a fixed
capped budget; also how many pixels the subtitle itself gets after the processor's resize in each case.

The model is a tiny random Qwen2-VL (tiny:qwen2_vl) whose image processor is given Qwen2-VL's real settings
(patch 14, merge 2, min_pixels 3136, and max_pixels = the budget under test), so token counts are exactly
what the real model would see; step times are the tiny model's (LoRA, batch of identical frames, CPU).
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_BUDGET = 28 * 28 * 1280  # Qwen2VLImageProcessor's default max_pixels (1,003,520)
MIN_PIXELS = 56 * 56
CROP = "bottom=0.33"


def _frame(tmp: Path):
    from PIL import Image

    from subtitle_vlm.io import read_frame_set
    from subtitle_vlm.synth import SynthConfig, run_synth

    run_synth(SynthConfig(out=str(tmp), count=1, seed=11, style="clean", size="1280x720", p_empty=0.0,
                          progress=False))
    fr = read_frame_set(tmp)[0]
    return Image.open(fr.path).convert("RGB"), fr.record["subtitle"]["bbox"], fr.text


def _case(model, processor, image, bbox, text, budget: int, crop: str, steps: int, batch: int) -> dict:
    import torch

    from subtitle_vlm.crop import crop_image, parse_crop
    from subtitle_vlm.train.collator import Sample, VLMCollator
    from subtitle_vlm.train.families import FAMILIES

    ip = processor.image_processor
    ip.size = {"shortest_edge": MIN_PIXELS, "longest_edge": budget}
    spec = parse_crop(crop)
    img = crop_image(image, spec)
    enc = ip(images=[img], return_tensors="pt")
    t, gh, gw = (int(v) for v in enc["image_grid_thw"][0])
    tokens = t * gh * gw // (ip.merge_size ** 2)
    resized_h, resized_w = gh * ip.patch_size, gw * ip.patch_size
    sy, sx = resized_h / img.height, resized_w / img.width
    x0, y0, x1, y1 = bbox
    y_off = spec.box[1] * image.height if spec.kind != "none" else 0
    sub_h = (y1 - y0) * sy
    sub_w = (x1 - x0) * sx
    assert y0 >= y_off, "the subtitle must lie inside the crop"

    collate = VLMCollator(processor, FAMILIES["qwen2_vl"])
    data = collate([Sample(img, "字幕", text)] * batch)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        loss = model(**data).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        if i:  # the first step warms up allocators and kernels
            times.append(time.perf_counter() - t0)
    return {"image_tokens": tokens, "sequence_tokens": int(data["input_ids"].shape[1]),
            "resized_wh": [resized_w, resized_h], "subtitle_height_px": round(sub_h, 1),
            "subtitle_pixels": round(sub_h * sub_w), "s_per_step": round(statistics.median(times), 4)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--capped-pixels", type=int, default=448 * 448)
    args = ap.parse_args(argv)

    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from subtitle_vlm.train.families import FAMILIES
    from subtitle_vlm.train.lora import apply_lora
    from subtitle_vlm.train.tiny import resolve_model_name
    from subtitle_vlm.train.train_config import LoraArguments

    torch.manual_seed(0)
    path = resolve_model_name("tiny:qwen2_vl")
    processor = AutoProcessor.from_pretrained(path)
    model = apply_lora(AutoModelForImageTextToText.from_pretrained(path), FAMILIES["qwen2_vl"],
                       LoraArguments(lora_r=8)).train()
    with tempfile.TemporaryDirectory() as tmp:
        image, bbox, text = _frame(Path(tmp))
    out = {"bench": "train_tokens", "family": "qwen2_vl", "frame": [image.width, image.height], "crop": CROP,
           "batch": args.batch, "torch_threads": torch.get_num_threads()}
    for label, budget in (("default_budget", DEFAULT_BUDGET), ("capped_budget", args.capped_pixels)):
        full = _case(model, processor, image, bbox, text, budget, "none", args.steps, args.batch)
        crop = _case(model, processor, image, bbox, text, budget, CROP, args.steps, args.batch)
        out[label] = {"max_pixels": budget, "full": full, "crop": crop,
                      "token_ratio_full_over_crop": round(full["image_tokens"] / crop["image_tokens"], 2),
                      "step_time_ratio_full_over_crop": round(full["s_per_step"] / crop["s_per_step"], 2),
                      "subtitle_height_ratio_crop_over_full": round(
                          crop["subtitle_height_px"] / full["subtitle_height_px"], 2)}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
