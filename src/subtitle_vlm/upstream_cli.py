"""The shared body of the upstream inference scripts (modification/minicpm/{multi_gpu,cpu}_inference.py,
modification/tinyllava/inference.py): every ``subtitle-vlm predict`` option, the script's own defaults and
extra flags on top, then the predict loop (Kaggle CSV, resumable, progress bar, summary).

An entry point like ``cli``: it sits above every stage (it wires predict and the engines), so no stage
imports it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

from subtitle_vlm.config import add_dataclass_arguments, build_config, save_config
from subtitle_vlm.predict.predict_config import PredictConfig


def build_predict_config(argv: list[str] | None, doc: str, defaults: dict,
                         add_args: Callable[[argparse.ArgumentParser], None] | None = None,
                         adjust: Callable[[dict, dict, set], None] | None = None) -> tuple[PredictConfig, bool, str | None]:
    """Parse ``argv`` into a PredictConfig: ``defaults`` <- --config file <- flags.

    ``add_args`` adds the script's own flags; ``adjust(values, own, user_set)`` turns them into PredictConfig
    values; ``user_set`` names the predict options given as flags, so an explicit one wins over a derived one.
    Returns (config, show_progress, summary_json path or None).
    """
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML or JSON file of predict options; flags win")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--summary-json", help="also write the run summary to this JSON file")
    own_parser = argparse.ArgumentParser(add_help=False)
    if add_args:
        add_args(own_parser)
        add_args(parser)  # so --help lists them
    add_dataclass_arguments(parser, PredictConfig)
    own_ns, rest = own_parser.parse_known_args(argv)
    ns = vars(parser.parse_args(argv))
    own = vars(own_ns)
    for k in own:
        ns.pop(k, None)
    progress = not ns.pop("no_progress")
    summary_json = ns.pop("summary_json")
    config_file = ns.pop("config", None)
    values = {**defaults, **ns}
    if adjust:
        adjust(values, own, set(ns))
    try:
        cfg = build_config(PredictConfig, values, config_file)
    except ValueError as e:
        parser.error(str(e))
    return cfg, progress, summary_json


def run_script(prog: str, argv: list[str] | None, doc: str, defaults: dict,
               add_args=None, adjust=None) -> int:
    from subtitle_vlm.cli import run_guarded

    return run_guarded(prog, lambda: _run(prog, argv, doc, defaults, add_args, adjust))


def _run(prog: str, argv, doc: str, defaults: dict, add_args, adjust) -> int:
    cfg, progress, summary_json = build_predict_config(argv, doc, defaults, add_args, adjust)
    from subtitle_vlm.predict.runner import run_predict

    summary = run_predict(cfg, progress=progress)
    print(f"{prog}: {summary}; wrote {cfg.out}", file=sys.stderr)
    save_config(cfg, cfg.out + ".config.json")
    if summary_json:
        from subtitle_vlm.io import atomic_write_text

        atomic_write_text(summary_json, json.dumps(summary.as_dict()) + "\n")
    return 0


__all__ = ["build_predict_config", "run_script"]
