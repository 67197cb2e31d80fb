"""``subtitle-vlm train-rec`` options (one dataclass; flags, ``--config`` YAML/JSON, saved with the run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class TrainRecConfig:
    frames: list[str] = field(default_factory=list, metadata={
        "help": "frame sets to train on (subtitle-vlm synth output folders, records with line positions)"})
    eval_frames: list[str] = field(default_factory=list, metadata={
        "help": "frame sets for eval CER during training (typical boxes only); none: no evaluation"})
    out: str = field(default="runs/rec", metadata={
        "help": "run folder: checkpoints, trainer_state.json, loss log, rec.onnx + rec_keys.txt + rec_config.json"})
    base_model: str = field(default="", metadata={
        "help": "PP-OCR rec ONNX to start from; empty: PP-OCRv6_rec_small.onnx inside the rapidocr wheel"})
    trainable: Literal["head", "neck", "all"] = field(default="neck", metadata={
        "help": "what trains: head (CTC classifier), neck (sequence encoder + head), all"})
    freeze_bn: bool = field(default=True, metadata={
        "help": "keep BatchNorm running statistics at PP-OCR's values while training"})
    max_steps: int = field(default=300, metadata={"help": "optimizer steps"})
    batch_size: int = field(default=32, metadata={"help": "crops per step"})
    learning_rate: float = field(default=1e-4, metadata={"help": "peak AdamW learning rate"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    warmup_steps: int = field(default=20, metadata={"help": "linear warm-up steps"})
    lr_scheduler: str = field(default="cosine", metadata={"help": "transformers scheduler name"})
    logging_steps: int = field(default=5, metadata={"help": "log the loss every N steps"})
    eval_steps: int = field(default=50, metadata={"help": "evaluate (loss, CER) every N steps"})
    save_steps: int = field(default=50, metadata={"help": "checkpoint every N steps (resume point)"})
    eval_max_lines: int = field(default=400, metadata={"help": "at most this many eval lines (first ones)"})
    seed: int = field(default=0, metadata={"help": "seed for crop jitter, shuffling and initialisation"})
    typical_crop: bool = field(default=True, metadata={
        "help": "one crop per line at the detector's typical margins"})
    jitter_crops: int = field(default=2, metadata={"help": "random detector-like crops per line"})
    jitter_spread: float = field(default=1.0, metadata={"help": "scale of the jitter's standard deviations"})
    det_crops: bool = field(default=False, metadata={
        "help": "also crop PP-OCR's own detections matched to the lines (runs the detector once per frame, cached)"})
    keep_missing: bool = field(default=False, metadata={
        "help": "keep lines with characters outside the dictionary (those characters dropped from the label); "
                "default: leave such lines out (they are reported either way)"})
    cache_features: bool = field(default=True, metadata={
        "help": "with --trainable head or neck, compute the frozen backbone's features once per crop (much faster)"})
    max_width: int = field(default=1600, metadata={"help": "widest crop after scaling to height 48"})
    resume: str = field(default="auto", metadata={
        "help": "auto: continue from the newest checkpoint in --out; no: start over; or a checkpoint path"})
    threads: int = field(default=0, metadata={"help": "torch CPU threads (0: torch's default)"})
    progress: bool = field(default=True, metadata={"help": "progress bars"})

    def validate(self) -> None:
        from subtitle_vlm.io import InputError

        if not self.frames:
            raise InputError("--frames: give at least one frame set (subtitle-vlm synth --out DIR)")
        for name in ("max_steps", "batch_size", "logging_steps", "eval_steps", "save_steps", "eval_max_lines",
                     "max_width"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')}: need at least 1")
        if self.learning_rate <= 0:
            raise InputError("--learning-rate: need a positive number")
        if self.jitter_crops < 0 or self.jitter_spread < 0:
            raise InputError("--jitter-crops / --jitter-spread: need 0 or more")
        if not (self.typical_crop or self.jitter_crops or self.det_crops):
            raise InputError("no crops: enable --typical-crop, --jitter-crops N or --det-crops")
        if self.max_width < 32:
            raise InputError("--max-width: need at least 32")
