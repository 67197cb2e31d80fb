"""Trainer options: config file + flags, unknown keys, DeepSpeed short names, dtype auto."""

from __future__ import annotations

import json

import pytest

from subtitle_vlm.io import InputError
from subtitle_vlm.train.train_config import DEEPSPEED_DIR, parse_train_args, resolve_deepspeed


def _base(tmp_path):
    return ["--output_dir", str(tmp_path / "run"), "--train_data", str(tmp_path)]


def test_file_gives_defaults_and_flags_win(tmp_path):
    cfg = tmp_path / "train.yaml"
    cfg.write_text("lora_r: 8\nlearning_rate: 0.01\nmax_steps: 7\ncrop: bottom=0.33\ntrain_data: a_folder\n"
                   "output_dir: from_file\n", encoding="utf-8")
    args = parse_train_args(["--config", str(cfg), "--lora_r", "4", "--output_dir", str(tmp_path / "o")])
    assert args.lora.lora_r == 4  # flag wins
    assert args.training.learning_rate == 0.01 and args.training.max_steps == 7  # from file
    assert args.data.crop == "bottom=0.33" and args.data.train_data == ["a_folder"]
    assert args.training.output_dir == str(tmp_path / "o")
    assert args.training.remove_unused_columns is False  # our default on TrainingArguments
    assert not args.training.bf16 and not args.training.fp16  # dtype auto on a CPU machine: fp32


def test_unknown_key_in_file_is_an_error_with_a_suggestion(tmp_path):
    cfg = tmp_path / "train.json"
    cfg.write_text(json.dumps({"lora_rank": 8, "output_dir": "x", "train_data": ["y"]}))
    with pytest.raises(InputError, match=r"train\.json.*lora_rank.*did you mean.*lora_r"):
        parse_train_args(["--config", str(cfg)])


def test_unknown_flag_and_missing_required(tmp_path):
    with pytest.raises(InputError, match="--no_such_flag"):
        parse_train_args(_base(tmp_path) + ["--no_such_flag", "1"])
    with pytest.raises(InputError, match="--train_data"):
        parse_train_args(["--output_dir", str(tmp_path)])
    with pytest.raises(InputError, match="--output_dir"):
        parse_train_args(["--train_data", str(tmp_path)])


def test_deepspeed_short_names_and_paths(tmp_path):
    for name in ("zero2", "zero3", "zero3_offload"):
        assert resolve_deepspeed(name) == str(DEEPSPEED_DIR / f"{name}.json")
    with pytest.raises(InputError, match="zero3_offload"):
        resolve_deepspeed(str(tmp_path / "missing.json"))


def test_eval_data_turns_on_step_evaluation(tmp_path):
    args = parse_train_args(_base(tmp_path) + ["--eval_data", str(tmp_path), "--save_steps", "5"])
    assert str(args.training.eval_strategy.value) == "steps" and args.training.eval_steps == 5
    args = parse_train_args(_base(tmp_path) + ["--eval_data", str(tmp_path), "--eval_strategy", "no"])
    assert str(args.training.eval_strategy.value) == "no"


def test_explicit_dtype_choices(tmp_path):
    args = parse_train_args(_base(tmp_path) + ["--dtype", "bf16"])
    assert args.training.bf16 and args.training.use_cpu  # bf16 on a CPU needs the CPU path
    with pytest.raises(InputError, match="--dtype"):
        parse_train_args(_base(tmp_path) + ["--dtype", "fp8"])
