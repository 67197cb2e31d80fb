"""Options of ``subtitle-vlm train-selector``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

from subtitle_vlm.io import InputError


def default_cache() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "subtitle-vlm", "selector-detections")


@dataclass
class TrainSelectorConfig:
    frames: list[str] = field(default_factory=list, metadata={
        "help": "frame sets to learn from (folders made by `subtitle-vlm synth`: their records say which "
                "text is the subtitle)"})
    out: str = field(default="", metadata={"help": "output folder: selector.json, its config and summary"})
    eval_frames: list[str] = field(default_factory=list, metadata={
        "help": "frame sets to measure on after training (default: a held-out share of --frames)"})
    model: Literal["gbdt", "logistic"] = field(default="gbdt", metadata={
        "help": "gbdt: gradient-boosted trees (scikit-learn); logistic: logistic regression"})
    n_estimators: int = field(default=200, metadata={"help": "gbdt: number of trees"})
    max_depth: int = field(default=3, metadata={"help": "gbdt: depth of each tree"})
    learning_rate: float = field(default=0.1, metadata={"help": "gbdt: shrinkage"})
    threshold: float = field(default=0.5, metadata={"help": "a line with a probability at least this is a candidate"})
    val_fraction: float = field(default=0.2, metadata={
        "help": "share of frames held out of training to report on when --eval-frames is not given"})
    seed: int = field(default=0, metadata={"help": "seed of the held-out split and the trees' subsampling"})
    limit: int = field(default=0, metadata={"help": "use at most this many frames of each set (0: all)"})
    workers: int = field(default=1, metadata={"help": "detector processes (the detections are cached)"})
    cache: str = field(default_factory=default_cache, metadata={
        "help": "where PP-OCR's detections of each frame set are kept (reused while the set is unchanged)"})
    progress: bool = field(default=True, metadata={"help": "show progress bars"})

    def validate(self) -> None:
        if not self.frames:
            raise InputError("--frames: give at least one frame set folder")
        if not self.out:
            raise InputError("--out: give the output folder")
        if self.n_estimators < 1 or self.max_depth < 1:
            raise InputError("--n-estimators and --max-depth: need at least 1")
        if not 0.0 < self.threshold < 1.0:
            raise InputError("--threshold: need a probability in (0, 1)")
        if not 0.0 <= self.val_fraction < 1.0:
            raise InputError("--val-fraction: need a share in [0, 1)")
        if self.workers < 1:
            raise InputError("--workers: need at least 1")
