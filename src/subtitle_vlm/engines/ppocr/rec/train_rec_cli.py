"""subtitle-vlm train-rec --frames DIR [DIR ...] --out runs/rec [--eval-frames DIR] [--trainable head|neck|all]

Fine-tune PP-OCR's recogniser (PP-OCRv6 small, from the rapidocr wheel) on the subtitle lines of
synthesised frame sets, then export it to ONNX for the ppocr engine:

    subtitle-vlm synth --out data/rec_train --count 1000 --seed 101
    subtitle-vlm synth --out data/rec_tune --count 80 --seed 103
    subtitle-vlm train-rec --frames data/rec_train --eval-frames data/rec_tune --out runs/rec --max-steps 300
    subtitle-vlm predict --engine ppocr --engine-options '{"rec_model": "runs/rec"}' --input frames/ --out pred.csv

The run folder gets rec.onnx, rec_keys.txt and rec_config.json (base model hash, data recipe, seed),
summary.json, labels_report.json (characters outside the dictionary), log_history.jsonl and
trainer_state.json (loss and eval CER curves for subtitle-vlm report) and checkpoints; rerunning the same
command resumes from the newest checkpoint. Needs torch, transformers, onnx and onnx2torch
(pip install 'subtitle-vlm[rec]').
"""

from __future__ import annotations

import json

from subtitle_vlm.config import parse_config, save_config
from subtitle_vlm.engines.ppocr.rec.config import TrainRecConfig


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(TrainRecConfig, argv, prog="subtitle-vlm train-rec", description=__doc__)
    from subtitle_vlm.engines.ppocr.rec.train import run_train_rec
    from subtitle_vlm.io import check_writable_dir

    save_config(cfg, check_writable_dir(cfg.out) / "train_rec_config.yaml")
    summary = run_train_rec(cfg)
    print(json.dumps(summary, ensure_ascii=False))
    return 0
