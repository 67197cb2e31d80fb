"""subtitle-vlm train --model_name_or_path tiny:qwen2_vl --train_data FRAMESET_OR_JSONL --output_dir runs/tiny

LoRA fine-tuning of any transformers vision-language model (AutoModelForImageTextToText + AutoProcessor) on
subtitle frames. Options: ``subtitle-vlm train --help`` (our model/data/LoRA options plus every
transformers.TrainingArguments flag); ``--config train.yaml`` supplies defaults, flags win.

One GPU or CPU:
    subtitle-vlm train --model_name_or_path Qwen/Qwen2-VL-2B-Instruct --train_data data/messages/train.jsonl \\
        --eval_data data/messages/val.jsonl --output_dir runs/qwen2vl --max_steps 500 --crop bottom=0.33

Several GPUs on one machine (one process per GPU; DDP, or DeepSpeed with --deepspeed):
    torchrun --nproc_per_node 2 -m subtitle_vlm train --train_data ... --output_dir runs/x --deepspeed zero2
    accelerate launch --num_processes 2 -m subtitle_vlm train --train_data ... --output_dir runs/x

The original MiniCPM-V memory setup (ZeRO-3, optimizer and parameters offloaded to CPU):
    torchrun --nproc_per_node 2 -m subtitle_vlm train ... --deepspeed zero3_offload --gradient_checkpointing true

``--deepspeed`` takes zero2, zero3, zero3_offload (the shipped configs) or a JSON path. Rerunning the same
command continues from the last checkpoint in the output directory (``--resume auto``, the default).
"""

from __future__ import annotations

import json
import logging
import sys

from subtitle_vlm.train.train_config import build_parser, parse_train_args


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        parser = build_parser()
        parser.prog = "subtitle-vlm train"
        parser.description = __doc__.split("\n\n", 1)[1].split("\n\n")[0]
        parser.add_argument("--config", help="YAML or JSON file of defaults; flags given here win")
        parser.print_help()
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_train_args(argv)
    from subtitle_vlm.train.trainer import run_training

    summary = run_training(args)
    if args.training.process_index == 0:
        print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
