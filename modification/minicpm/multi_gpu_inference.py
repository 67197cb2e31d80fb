"""python multi_gpu_inference.py --model runs/minicpmv_lora/merged-checkpoint-500 --input test/ --out submission.csv

(run with .venv-minicpmv/bin/python, from modification/minicpm/ or the clone's finetune/ folder)

Reads every frame with MiniCPM-Llama3-V-2_5 (or a merged fine-tune) split across GPUs, for GPUs too small
for the whole model (about 17 GB in float16): each GPU holds at most --max-memory-per-gpu of weights, the
rest of its memory stays free for activations; embeddings, the first layer, lm_head, the vision encoder and
the resampler sit on the first GPU. Writes the Kaggle CSV (id,text); rerunning the same command resumes.

    python multi_gpu_inference.py --model M --input test/ --out pred.csv --gpus 0,1 --max-memory-per-gpu 10GiB
    python multi_gpu_inference.py --model openbmb/MiniCPM-Llama3-V-2_5 --adapter runs/minicpmv_lora/checkpoint-500 ...

Every option of `subtitle-vlm predict` works here too (--prompt, --crop, --limit, --max-new-tokens, --max-memory,
...); the prompt defaults to the one in the model folder's run config.
"""

from __future__ import annotations

import sys

from subtitle_vlm.upstream_cli import run_script

DEFAULTS = {"engine": "minicpmv", "device_map": "auto", "dtype": "float16", "batch_size": 1}


def add_args(p) -> None:
    p.add_argument("--gpus", default="0,1", help="GPU indices to split the model over (default: 0,1)")
    p.add_argument("--max-memory-per-gpu", default="10GiB",
                   help="weights per GPU; leave room for activations (default: 10GiB, for 16-24 GB cards)")


def adjust(values: dict, own: dict, user_set: set) -> None:
    if "max_memory" not in user_set:
        gpus = [g.strip() for g in own["gpus"].split(",") if g.strip()]
        values["max_memory"] = ",".join(f"{g}={own['max_memory_per_gpu']}" for g in gpus)


def main(argv: list[str] | None = None) -> int:
    return run_script("multi_gpu_inference", argv, __doc__, DEFAULTS, add_args, adjust)


if __name__ == "__main__":
    sys.exit(main())
