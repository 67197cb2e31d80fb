"""python inference.py --model /models/TinyLLaVA-Phi-2-SigLIP-3.1B --adapter runs/tinyllava_lora --input test/ --out submission.csv

(run with .venv-tinyllava/bin/python, from modification/tinyllava/ or the clone's root)

Reads every frame with TinyLLaVA-Phi-2-SigLIP-3.1B plus a LoRA run of custom_finetune.sh and writes the
Kaggle CSV (id,text); rerunning the same command resumes. The run folder needs no "lora" in its name; the
text comes back instead of being printed; --device cpu or cuda (default: cuda when there is one); with
local --model and --adapter folders nothing is fetched from the hub. The prompt defaults to the one in the
run folder's run config (the one the training data asked with).

    python inference.py --model /models/TinyLLaVA-Phi-2-SigLIP-3.1B --adapter runs/tinyllava_lora \
        --input test/ --out pred.csv --device cpu

Every option of `subtitle-vlm predict` works here too (--prompt, --crop, --limit, --max-new-tokens, --dtype, ...).
"""

from __future__ import annotations

import sys

from subtitle_vlm.upstream_cli import run_script

DEFAULTS = {"engine": "tinyllava", "batch_size": 1}


def main(argv: list[str] | None = None) -> int:
    return run_script("inference", argv, __doc__, DEFAULTS)


if __name__ == "__main__":
    sys.exit(main())
