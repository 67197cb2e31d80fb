"""The run directory: what `subtitle-vlm train` leaves behind, and how other stages find the model in it.

A run directory (the trainer's ``--output_dir``) holds everything needed to use the run alone:

    adapter_config.json, adapter_model.safetensors   the LoRA adapter (peft format); with --modules_to_save
                                                     the trained projector / vision tower weights are inside
    tokenizer.json, tokenizer_config.json,           the processor and tokenizer the model was trained with,
    processor_config.json, chat_template.jinja, ...  saved by ``processor.save_pretrained``
    run_config.json                                  how to use the model (below)
    train_config.json                                every resolved training option (model, data, LoRA and
                                                     all transformers.TrainingArguments), for reruns
    log_history.jsonl                                one JSON object per log event: step, epoch, loss,
                                                     learning_rate, grad_norm; eval_loss, eval_cer,
                                                     eval_mean_levenshtein at evaluations
    trainer_state.json                               transformers' trainer state at the end
    summary.json                                     train time, steps, final loss, peak memory, device
    checkpoint-N/                                    transformers checkpoints (adapter, optimizer, scheduler,
                                                     rng, trainer_state.json) plus a run_config.json, so a
                                                     checkpoint can be merged or used for prediction too

A merged directory (``subtitle-vlm merge``) holds full weights, the processor files and the same
``run_config.json`` with ``kind: "merged"``.

``run_config.json`` keys:

    format              "subtitle-vlm-run/1"
    kind                "adapter" | "merged" | "full" (full weights, no adapter)
    base_model          local path or hub id of the base model (for tiny models the built folder)
    base_model_name     what the user passed (e.g. "tiny:qwen2_vl" or "Qwen/Qwen2-VL-2B-Instruct")
    family              qwen2_vl | qwen2_5_vl | llava | idefics3 | smolvlm | ... (config.model_type)
    trust_remote_code   bool: the model needs its own code to load (a record: loading runs that code only
                        when the user passes --trust-remote-code, whatever this says)
    prompt              the user prompt the model was trained with (inference must use the same one)
    crop                crop spec applied to every frame before the processor (see subtitle_vlm.crop)
    normalize           normalisation profile of the training labels (see subtitle_vlm.text.normalize)
    max_new_tokens      generation budget for inference
    lora                {r, alpha, dropout, target_modules, modules_to_save, train_vision, qlora}
    data                {train: [paths], eval: [paths]}
    training            {max_steps, num_train_epochs, learning_rate, per_device_train_batch_size,
                         gradient_accumulation_steps, dtype, deepspeed, world_size, seed}
    step                the training step the adapter was saved at
    created             ISO timestamp; subtitle_vlm_version
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from subtitle_vlm.io import InputError, atomic_write_json

RUN_CONFIG_NAME = "run_config.json"
TRAIN_CONFIG_NAME = "train_config.json"
LOG_HISTORY_NAME = "log_history.jsonl"
SUMMARY_NAME = "summary.json"
ADAPTER_CONFIG_NAME = "adapter_config.json"
RUN_FORMAT = "subtitle-vlm-run/1"
DEFAULT_MAX_NEW_TOKENS = 64


def load_run_config(path: str | os.PathLike) -> dict:
    """Read ``run_config.json`` from a file or a run directory; {} when the directory has none."""
    p = Path(path)
    if p.is_dir():
        p = p / RUN_CONFIG_NAME
        if not p.is_file():
            return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{p}: run config not found; pass a run directory written by 'subtitle-vlm train'") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{p}: not valid JSON ({e}); restore it or retrain") from None
    if not isinstance(data, dict):
        raise InputError(f"{p}: expected a JSON object")
    return data


def save_run_config(out_dir: str | os.PathLike, cfg: dict[str, Any]) -> Path:
    path = Path(out_dir) / RUN_CONFIG_NAME
    data = {"format": RUN_FORMAT, **cfg}
    atomic_write_json(path, data)
    return path


def _find_run_config(folder: Path) -> dict:
    """The folder's run config, else its parent's (a ``checkpoint-N`` inside a run directory)."""
    cfg = load_run_config(folder)
    if not cfg and folder.name.startswith("checkpoint-"):
        cfg = load_run_config(folder.parent)
    return cfg


def find_run_config(*folders: str | os.PathLike | None) -> dict:
    """The run config of the first of ``folders`` that has one ({} when none does).

    Engines pass (adapter, model): an adapter's run config describes the training that made it, so it wins
    over the one of the model it is applied to. Names that are not folders (hub ids, ``tiny:<family>``)
    are skipped.
    """
    for folder in folders:
        if folder and Path(folder).is_dir():
            cfg = _find_run_config(Path(folder))
            if cfg:
                return cfg
    return {}


def _resolve_base(name: str, fallback_name: str | None) -> str:
    from subtitle_vlm.train.tiny import is_tiny_name, resolve_model_name

    if is_tiny_name(name):
        return resolve_model_name(name)
    if Path(name).exists() or not fallback_name:
        return name
    # A tiny base built on another machine: rebuild it from its name (same seed, same vocabulary).
    return resolve_model_name(fallback_name) if is_tiny_name(fallback_name) else name


def resolve_model_dir(path: str | os.PathLike) -> tuple[str, str | None, dict]:
    """Model or adapter directory (or ``tiny:<family>`` / hub id) -> (base_model, adapter_dir or None, run_config).

    An adapter directory names its base in ``run_config.json`` (``base_model``) or, failing that, in
    peft's ``adapter_config.json`` (``base_model_name_or_path``).
    """
    from subtitle_vlm.train.tiny import is_tiny_name, resolve_model_name

    if is_tiny_name(path):
        return resolve_model_name(str(path)), None, {}
    folder = Path(path)
    if not folder.is_dir():
        # A hub id: nothing local to read.
        return str(path), None, {}
    run_cfg = _find_run_config(folder)
    adapter_cfg_path = folder / ADAPTER_CONFIG_NAME
    if not adapter_cfg_path.is_file():
        return str(folder), None, run_cfg
    base = run_cfg.get("base_model")
    if not base:
        try:
            base = json.loads(adapter_cfg_path.read_text(encoding="utf-8")).get("base_model_name_or_path")
        except json.JSONDecodeError as e:
            raise InputError(f"{adapter_cfg_path}: not valid JSON ({e})") from None
    if not base:
        raise InputError(f"{folder}: adapter directory names no base model; add \"base_model\" to "
                         f"{RUN_CONFIG_NAME} or pass the base model explicitly")
    return _resolve_base(str(base), run_cfg.get("base_model_name")), str(folder), run_cfg
