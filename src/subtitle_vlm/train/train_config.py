"""Options of `subtitle-vlm train`: model, data and LoRA dataclasses plus every transformers.TrainingArguments flag.

    subtitle-vlm train --config train.yaml --max_steps 200

``--config`` names a YAML or JSON mapping of defaults (any option below or of TrainingArguments); flags on the
command line win. Keys no dataclass declares are errors, as are unknown flags (with the closest valid
name suggested). Flags are spelled ``--lora_r`` or ``--lora-r``. ``--deepspeed`` takes a JSON path or the
short name of a shipped config (zero2, zero3, zero3_offload). The resolved options are written to ``<output_dir>/train_config.json`` when training starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from subtitle_vlm.config import load_config_file
from subtitle_vlm.io import InputError, atomic_write_json

DEEPSPEED_DIR = Path(__file__).resolve().parent / "deepspeed"
DEEPSPEED_SHORT_NAMES = ("zero2", "zero3", "zero3_offload")


@dataclass
class ModelArguments:
    model_name_or_path: str = field(default="tiny:qwen2_vl", metadata={
        "help": "base model: a hub id, a local directory, or tiny:<family> (qwen2_vl, qwen2_5_vl, llava, "
                "idefics3, smolvlm) for a random tiny model"})
    trust_remote_code: bool = field(default=False, metadata={
        "help": "allow the model repository's own Python code (only for models that need it)"})
    dtype: str = field(default="auto", metadata={
        "help": "auto (bf16 on GPUs that support it, fp16 on older GPUs, fp32 on CPU), bf16, fp16 or fp32; "
                "sets --bf16/--fp16 and the dtype the base weights load in"})
    attn_implementation: str = field(default="auto", metadata={
        "help": "auto (flash_attention_2 when installed on CUDA, else sdpa), sdpa, eager, flash_attention_2"})
    max_pixels: int | None = field(default=None, metadata={
        "help": "cap on image pixels for processors with a pixel budget (Qwen2-VL family: max_pixels); saved "
                "with the processor so inference uses the same"})
    resume: str = field(default="auto", metadata={
        "help": "auto: continue from the last checkpoint-N in output_dir if any; none: start over; "
                "or a checkpoint path"})


@dataclass
class DataArguments:
    train_data: list[str] = field(default_factory=list, metadata={
        "help": "training data: frame set folders (images + metadata.jsonl) and/or messages JSONL files "
                "written by 'subtitle-vlm dataset'"})
    eval_data: list[str] = field(default_factory=list, metadata={
        "help": "validation data (same forms); enables evaluation: loss plus greedy generation scored by "
                "CER and mean Levenshtein"})
    prompt: str | None = field(default=None, metadata={
        "help": "user prompt; default: the prompt inside messages JSONL files, else the built-in default "
                "prompt"})
    crop: str = field(default="none", metadata={
        "help": "subtitle-band crop applied to every frame: none, bottom=FRACTION, box=x0,y0,x1,y1 "
                "(recorded in the run config and applied identically at inference)"})
    normalize: str = field(default="none", metadata={
        "help": "normalisation profile applied to the labels before training and to scoring: "
                "none, width, punct, script"})
    max_new_tokens: int = field(default=64, metadata={
        "help": "generation budget for evaluation and, through the run config, for inference"})
    max_eval_samples: int = field(default=32, metadata={
        "help": "how many validation frames the generation evaluation reads (the first N)"})


@dataclass
class LoraArguments:
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha (scale = alpha / r)"})
    lora_dropout: float = field(default=0.05, metadata={"help": "dropout on the LoRA input"})
    lora_target: str | None = field(default=None, metadata={
        "help": "regex over module names (full match) choosing the layers that get LoRA; default: the "
                "language model's q/k/v/o and gate/up/down projections only"})
    train_projector: bool = field(default=False, metadata={
        "help": "also train the vision-language projector/connector fully (saved with the adapter)"})
    train_vision: bool = field(default=False, metadata={
        "help": "also put LoRA on the vision tower's attention and MLP layers"})
    modules_to_save: list[str] = field(default_factory=list, metadata={
        "help": "extra module names trained fully and saved with the adapter (e.g. lm_head)"})
    qlora: bool = field(default=False, metadata={
        "help": "load the base model in 4-bit (NF4) and train LoRA on top; needs CUDA and bitsandbytes"})


# TrainingArguments defaults that suit this trainer; any of them can still be set by file or flag.
TRAINING_DEFAULTS: dict[str, Any] = {
    "remove_unused_columns": False,  # the collator needs the raw image/prompt/answer fields
    "logging_steps": 10,
    "save_steps": 100,
    "save_total_limit": 2,
    "report_to": "none",
    "per_device_train_batch_size": 4,
    "per_device_eval_batch_size": 8,
    "learning_rate": 2e-4,
    "lr_scheduler_type": "cosine",
    "warmup_steps": 0.03,
}


@dataclass
class TrainArgs:
    model: ModelArguments
    data: DataArguments
    lora: LoraArguments
    training: Any  # transformers.TrainingArguments

    def to_dict(self) -> dict:
        return {"model": dataclasses.asdict(self.model), "data": dataclasses.asdict(self.data),
                "lora": dataclasses.asdict(self.lora), "training": self.training.to_dict()}


def resolve_deepspeed(value):
    """A shipped config's short name (zero2, zero3, zero3_offload) -> its path; a path stays a path; an inline
    mapping (from a YAML config file) is passed through."""
    if not value or isinstance(value, dict):
        return value
    if value in DEEPSPEED_SHORT_NAMES:
        return str(DEEPSPEED_DIR / f"{value}.json")
    if not Path(value).is_file():
        raise InputError(f"--deepspeed {value}: no such file; pass a DeepSpeed JSON config or one of "
                         f"{', '.join(DEEPSPEED_SHORT_NAMES)}")
    return value


def _cuda_kind() -> str:
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def _apply_dtype(ns: argparse.Namespace) -> None:
    choice = ns.dtype.lower()
    if choice not in ("auto", "bf16", "fp16", "fp32"):
        raise InputError(f"--dtype {ns.dtype}: choose auto, bf16, fp16 or fp32")
    if choice == "auto":
        if ns.bf16 or ns.fp16:
            return
        kind = _cuda_kind()
        ns.bf16, ns.fp16 = kind == "bf16", kind == "fp16"
    else:
        ns.bf16, ns.fp16 = choice == "bf16", choice == "fp16"
    if ns.bf16 and _cuda_kind() == "cpu":
        ns.use_cpu = True  # bf16 autocast on a CPU needs the CPU path chosen explicitly


def build_parser():
    from transformers import HfArgumentParser, TrainingArguments

    parser = HfArgumentParser((ModelArguments, DataArguments, LoraArguments, TrainingArguments))
    parser.set_defaults(**TRAINING_DEFAULTS)
    return parser


def _all_option_names(parser) -> set[str]:
    return {a.dest for a in parser._actions if a.dest not in ("help", argparse.SUPPRESS)}


def parse_train_args(argv: list[str] | None = None) -> TrainArgs:
    from transformers import TrainingArguments

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config")
    known, rest = pre.parse_known_args(argv)
    parser = build_parser()
    names = _all_option_names(parser)
    if known.config:
        data = {k.replace("-", "_"): v for k, v in load_config_file(known.config).items()}
        unknown = sorted(set(data) - names)
        if unknown:
            hints = [f"{u} (did you mean {' or '.join(m)}?)" if (m := difflib.get_close_matches(u, names, 3))
                     else u for u in unknown]
            raise InputError(f"{known.config}: unknown option(s): {', '.join(hints)}; see "
                             "'subtitle-vlm train --help' for the valid ones")
        for key, value in data.items():
            if key in ("train_data", "eval_data", "modules_to_save") and isinstance(value, str):
                data[key] = [value]
        parser.set_defaults(**data)
        for action in parser._actions:
            if action.dest in data:
                action.required = False
    ns, remaining = parser.parse_known_args(rest)
    if remaining:
        raise InputError(f"unknown option(s): {' '.join(remaining)}; see 'subtitle-vlm train --help'")
    if not ns.output_dir:
        raise InputError("missing --output_dir: the folder where the adapter, checkpoints and logs go")
    if not ns.train_data:
        raise InputError("missing --train_data: one or more frame set folders or messages JSONL files")
    ns.deepspeed = resolve_deepspeed(ns.deepspeed)
    _apply_dtype(ns)
    strategy_given = (known.config and "eval_strategy" in data) or any(
        a.split("=")[0] in ("--eval_strategy", "--eval-strategy") for a in rest)
    if ns.eval_data and str(ns.eval_strategy) == "no" and not strategy_given:
        ns.eval_strategy = "steps"
        if ns.eval_steps is None:
            ns.eval_steps = ns.save_steps
    if ns.gradient_checkpointing and not ns.gradient_checkpointing_kwargs:
        # Non-reentrant checkpointing works with frozen base weights without forcing input grads.
        ns.gradient_checkpointing_kwargs = {"use_reentrant": False}

    values = vars(ns)
    objs = []
    for cls in (ModelArguments, DataArguments, LoraArguments, TrainingArguments):
        keys = {f.name for f in dataclasses.fields(cls) if f.init}
        try:
            objs.append(cls(**{k: v for k, v in values.items() if k in keys}))
        except (ValueError, TypeError) as e:
            raise InputError(f"bad training option: {e}") from None
    return TrainArgs(*objs)


def save_train_config(args: TrainArgs, out_dir: str | Path) -> Path:
    path = Path(out_dir) / "train_config.json"
    atomic_write_json(path, json.loads(json.dumps(args.to_dict(), default=str)))
    return path
