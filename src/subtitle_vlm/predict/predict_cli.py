"""subtitle-vlm predict --engine ppocr --input frames/ --out pred.csv

Read every frame of a frame set (or folder of images) with an engine and write the Kaggle CSV
(``id,text``, natural id order). Rerunning the same command resumes an interrupted run.

    subtitle-vlm predict --engine hf --model runs/tiny/merged --input data/val --out pred.csv --batch-size 8
    subtitle-vlm predict --engine hf --model runs/qwen/adapter --input test/ --data-parallel 2   # 2 GPUs
    subtitle-vlm predict --engine hf --model big/ --device-map auto --max-memory 0=20GiB,1=20GiB,cpu=64GiB
"""

from __future__ import annotations

import argparse
import json
import sys

from subtitle_vlm.config import add_dataclass_arguments, build_config, save_config
from subtitle_vlm.predict.predict_config import PredictConfig


def check_summary_path(path: str, cfg) -> None:
    """Prove ``--summary-json`` can be written before any frame is read (not after an hour of reading)."""
    from pathlib import Path

    from subtitle_vlm.io import check_output, check_writable_dir, json_object_with

    p = check_output(path, flag="--summary-json", command="predict", inputs=[("--input", cfg.input)],
                     outputs=[("--out", cfg.out)], suffixes=(".json",), kind="JSON", overwrite=cfg.overwrite,
                     ours=json_object_with("frames", "read", "resumed"))
    check_writable_dir(Path(p).resolve().parent)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="subtitle-vlm predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML or JSON file of defaults; flags win")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--summary-json", help="also write the run summary to this JSON file")
    add_dataclass_arguments(parser, PredictConfig)
    ns = vars(parser.parse_args(argv))
    progress = not ns.pop("no_progress")
    summary_json = ns.pop("summary_json")
    try:
        cfg = build_config(PredictConfig, ns, ns.pop("config", None))
    except ValueError as e:
        parser.error(str(e))
    from subtitle_vlm.predict.runner import run_predict

    if summary_json and not cfg.shard:
        check_summary_path(summary_json, cfg)
    summary = run_predict(cfg, progress=progress)
    if not cfg.shard:
        print(f"predict: {summary}; wrote {cfg.out}", file=sys.stderr)
        save_config(cfg, cfg.out + ".config.json")
    if summary_json:
        from subtitle_vlm.io import atomic_write_text

        atomic_write_text(summary_json, json.dumps(summary.as_dict()) + "\n")
    return 0
