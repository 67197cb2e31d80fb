"""subtitle-vlm COMMAND [options]   (or: python -m subtitle_vlm COMMAND ...)

One subcommand per pipeline stage. Each lives in its stage's ``*_cli`` module with a ``main(argv)``;
they are imported only when called, so light commands never import torch.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Callable

from subtitle_vlm import __version__
from subtitle_vlm.io import InputError

# name -> (module with main(argv), one-line help). Order reads like the pipeline.
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("subtitle_vlm.synth.synth_cli", "render frames with burned-in subtitles (a frame set)"),
    "preview": ("subtitle_vlm.synth.preview", "write a labelled grid PNG of frames"),
    "dataset": ("subtitle_vlm.data.dataset_cli", "export train/val files for every trainer; --check a file"),
    "train-selector": ("subtitle_vlm.engines.ppocr.selector.train_selector_cli",
                       "learn which PP-OCR lines are the subtitle from synthetic frame records"),
    "train": ("subtitle_vlm.train.train_cli", "LoRA fine-tune a transformers VLM (native trainer)"),
    "merge": ("subtitle_vlm.merge.merge_cli", "merge a LoRA adapter into its base model"),
    "predict": ("subtitle_vlm.predict.predict_cli", "read frames with an engine, write the Kaggle CSV"),
    "video": ("subtitle_vlm.video.video_cli", "read the subtitles of a video into SRT/VTT/JSON"),
    "synth-video": ("subtitle_vlm.video.synth_video", "render a test video with a known cue list"),
    "score": ("subtitle_vlm.score.score_cli", "score predictions against gold (mean Levenshtein, CER)"),
    "score-srt": ("subtitle_vlm.video.score_srt", "score an SRT against a gold SRT"),
    "report": ("subtitle_vlm.report.report_cli", "compare runs: tables, loss curves, plots"),
    "train-rec": ("subtitle_vlm.engines.ppocr.rec.train_rec_cli", "fine-tune PP-OCR's recogniser on frame sets, export ONNX"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"subtitle-vlm {__version__}", "", "usage: subtitle-vlm COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "subtitle-vlm COMMAND --help shows a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        return run_guarded("subtitle-vlm", lambda: print(_usage()))
    if argv[0] in ("-V", "--version"):
        return run_guarded("subtitle-vlm", lambda: print(__version__))
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"subtitle-vlm: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    module = importlib.import_module(COMMANDS[name][0])
    return run_guarded(f"subtitle-vlm {name}", lambda: module.main(rest))


def run_guarded(prog: str, fn: Callable[[], int | None]) -> int:
    """Run an entry point: bad input -> one line and exit 2; Ctrl-C -> how to resume and exit 130."""
    try:
        return int(fn() or 0)
    except InputError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly; stdout goes to devnull so the exit flush is silent.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
