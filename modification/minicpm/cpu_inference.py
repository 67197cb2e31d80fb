"""python cpu_inference.py --model runs/minicpmv_lora/merged-checkpoint-500 --input test/ --out submission.csv

(run with .venv-minicpmv/bin/python, from modification/minicpm/ or the clone's finetune/ folder)

Reads every frame with MiniCPM-Llama3-V-2_5 (or a merged fine-tune) without a GPU large enough for it:
  - on the CPU alone (default): float32 needs about 34 GB of RAM, --dtype bfloat16 about 17 GB;
    expect minutes per frame.
  - with --gpu-memory SIZE: as much of the model as fits in SIZE on GPU 0, the rest in CPU RAM
    (accelerate moves each offloaded layer in when it runs).
Writes the Kaggle CSV (id,text); rerunning the same command resumes.

    python cpu_inference.py --model M --input test/ --out pred.csv --threads 16
    python cpu_inference.py --model M --input test/ --out pred.csv --gpu-memory 8GiB --cpu-memory 48GiB

Every option of `subtitle-vlm predict` works here too (--prompt, --crop, --limit, --max-new-tokens, ...).
"""

from __future__ import annotations

import sys

from subtitle_vlm.upstream_cli import run_script

DEFAULTS = {"engine": "minicpmv", "device": "cpu", "dtype": "float32", "batch_size": 1}


def add_args(p) -> None:
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--gpu-memory", help="put up to this much of the model on GPU 0 (e.g. 8GiB), the rest in RAM")
    p.add_argument("--cpu-memory", default="64GiB", help="RAM the offloaded part may use (with --gpu-memory)")


def adjust(values: dict, own: dict, user_set: set) -> None:
    if own["threads"]:
        import torch

        torch.set_num_threads(own["threads"])
    if own["gpu_memory"]:
        if "device_map" not in user_set:
            values["device_map"] = "auto"
        if "max_memory" not in user_set:
            values["max_memory"] = f"0={own['gpu_memory']},cpu={own['cpu_memory']}"
        if "dtype" not in user_set:
            values["dtype"] = "float16"  # the GPU part runs in the weights' own dtype


def main(argv: list[str] | None = None) -> int:
    return run_script("cpu_inference", argv, __doc__, DEFAULTS, add_args, adjust)


if __name__ == "__main__":
    sys.exit(main())
