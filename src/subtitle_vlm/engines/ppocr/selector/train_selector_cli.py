"""subtitle-vlm train-selector --frames DIR [DIR ...] --out DIR [--eval-frames DIR ...] [--workers 2]

Learn which of PP-OCR's detected lines are the subtitle from synthetic frame sets (their records name every
text drawn, so the labels come free), and write ``DIR/selector.json``. Use it with
``predict --engine ppocr --engine-options '{"selector": "DIR"}'`` (also in ``video``). Retrain on frames of
your own channel: synthesise them with its fonts (``synth --fonts``) and pictures (``--backgrounds``).

    subtitle-vlm synth --out data/sel --count 1500 --seed 101 --style hard --workers 2
    subtitle-vlm train-selector --frames data/sel --out runs/selector --workers 2

PP-OCR's detections are cached (``--cache``), so training again with other settings takes seconds.
Writes ``selector.json`` (the model and its recipe), ``train_selector_config.json`` and
``training_summary.json`` (frames, lines, held-out scores, the features that matter most).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from subtitle_vlm.config import config_to_dict, parse_config, save_config
from subtitle_vlm.engines.ppocr.selector.train_selector_config import TrainSelectorConfig
from subtitle_vlm.io import InputError, atomic_write_json, check_writable_dir

log = logging.getLogger(__name__)


def _frame_set_info(path: Path, used: int) -> dict:
    info: dict = {"path": str(path), "frames": used}
    cfg_file = path / "synth_config.json"
    if cfg_file.is_file():
        try:
            sc = json.loads(cfg_file.read_text(encoding="utf-8"))
            for k in ("seed", "style", "count", "size", "record_version"):
                if k in sc:
                    info[k] = sc[k]
        except (OSError, ValueError):
            pass
    return info


def train_selector(cfg: TrainSelectorConfig, argv: list[str] | None = None) -> dict:
    from subtitle_vlm.engines.ppocr.selector import LearnedSelector
    from subtitle_vlm.engines.ppocr.selector.detections import detect_frame_set
    from subtitle_vlm.engines.ppocr.selector.evaluate import evaluate_rows
    from subtitle_vlm.engines.ppocr.selector.train import feature_importance, fit_with_pairs, row_detections

    try:
        cfg.validate()
    except ValueError as e:
        raise InputError(str(e)) from None
    for d in cfg.frames + cfg.eval_frames:
        if not Path(d).is_dir():
            raise InputError(f"{d}: frame set folder does not exist")
    out = check_writable_dir(cfg.out)
    t0 = time.perf_counter()
    train_rows, sets = [], []
    for d in cfg.frames:
        rows = detect_frame_set(d, cfg.cache, cfg.workers, cfg.limit, cfg.progress)
        train_rows += rows
        sets.append(_frame_set_info(Path(d), len(rows)))
    eval_rows = []
    for d in cfg.eval_frames:
        eval_rows += detect_frame_set(d, cfg.cache, cfg.workers, cfg.limit, cfg.progress)
    if not cfg.eval_frames and cfg.val_fraction > 0 and len(train_rows) >= 5:
        order = np.random.default_rng(cfg.seed).permutation(len(train_rows))
        n_val = max(1, int(round(cfg.val_fraction * len(train_rows))))
        val_idx = set(order[:n_val].tolist())
        eval_rows = [r for i, r in enumerate(train_rows) if i in val_idx]
        train_rows = [r for i, r in enumerate(train_rows) if i not in val_idx]
    t_detect = time.perf_counter() - t0
    t1 = time.perf_counter()
    try:
        model = fit_with_pairs(train_rows, cfg)
    except ValueError as e:
        raise InputError(str(e)) from None
    t_fit = time.perf_counter() - t1
    selector = LearnedSelector(model)

    def select(row):
        dets, strips = row_detections(row)
        return selector.select_measured(dets, strips, row["w"], row["h"])

    held_out = evaluate_rows(eval_rows, select)[0] if eval_rows else None
    model.recipe.update({
        "command": "subtitle-vlm train-selector " + " ".join(argv if argv is not None else sys.argv[2:]),
        "config": {k: v for k, v in config_to_dict(cfg).items() if k not in ("cache", "progress", "workers")},
        "frame_sets": sets, "train_frames": len(train_rows), "held_out": held_out,
    })
    path = model.save(out)
    save_config(cfg, out / "train_selector_config.json")
    summary = {"model": str(path), "kind": model.kind, "train_frames": len(train_rows),
               "train_lines": model.recipe["train_lines"], "subtitle_lines": model.recipe["subtitle_lines"],
               "eval_frames": len(eval_rows),
               "held_out": held_out, "top_features": feature_importance(model),
               "seconds": {"detect": round(t_detect, 1), "fit": round(t_fit, 1)}}
    atomic_write_json(out / "training_summary.json", summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(TrainSelectorConfig, argv, prog="subtitle-vlm train-selector", description=__doc__)
    s = train_selector(cfg, argv)
    print(f"train-selector: {s['kind']} on {s['train_lines']} lines of {s['train_frames']} frames "
          f"({s['subtitle_lines']} subtitle lines) -> {s['model']}", file=sys.stderr)
    if s["held_out"]:
        h = s["held_out"]
        print(f"  held out ({h['frames']} frames): mean Levenshtein {h['mean_levenshtein']}, CER {h['cer']}, "
              f"wrong element {h['wrong_element']:.1%}, dropped {h['dropped']:.1%}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
