"""run_training(args): LoRA fine-tuning of a transformers VLM on subtitle frames, start to run directory.

Steps: resolve the model name (``tiny:<family>`` builds a tiny model), read the data, load processor and
model (dtype from --dtype, sdpa or flash-attention 2 attention, 4-bit with --qlora), wrap in LoRA, train with
transformers.Trainer (DeepSpeed through --deepspeed, resume from the last checkpoint), then save the adapter,
processor, run config, trainer state and a summary (time, peak memory, losses, evaluation).
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import logging
import re
import time
from pathlib import Path

from subtitle_vlm import __version__
from subtitle_vlm.crop import parse_crop
from subtitle_vlm.io import InputError, atomic_write_json, check_writable_dir
from subtitle_vlm.train.run_config import SUMMARY_NAME, save_run_config
from subtitle_vlm.train.train_config import TrainArgs, save_train_config

log = logging.getLogger(__name__)


def default_prompt() -> str:
    from subtitle_vlm.data.prompts import DEFAULT_PROMPT

    return DEFAULT_PROMPT


def choose_attn_implementation(requested: str) -> str:
    import torch

    req = (requested or "auto").lower()
    if req != "auto":
        return req
    if torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
# Files whose presence means the model part of a checkpoint was saved (LoRA adapter, full model, sharded).
_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin", "model.safetensors", "pytorch_model.bin",
            "model.safetensors.index.json", "pytorch_model.bin.index.json")


def checkpoint_problem(folder: Path) -> str | None:
    """Why ``folder`` (a ``checkpoint-N``) cannot be resumed from, or None when it is complete.

    The Trainer writes a checkpoint in place, weights first and ``trainer_state.json`` last, so a kill
    mid-save leaves a folder without a valid state file; a kill while an earlier checkpoint of the same
    step is re-saved leaves its old state file beside half-written weights. So: the state file parses and
    names step N, a weights file is there, and every weights, optimizer and RNG file is whole (safetensors
    headers cover the file; torch's zip files have their central directory, which is written last).
    """
    import json
    import zipfile

    m = _CHECKPOINT.match(folder.name)
    state = folder / "trainer_state.json"
    if not state.is_file():
        return "no trainer_state.json (its save was cut short)"
    try:
        step = json.loads(state.read_text(encoding="utf-8")).get("global_step")
    except (OSError, ValueError, AttributeError):
        return "trainer_state.json is cut short or unreadable"
    if m and step != int(m.group(1)):
        return f"trainer_state.json is for step {step}, not {m.group(1)}"
    if not any((folder / w).is_file() for w in _WEIGHTS) and not any(folder.glob("global_step*")):
        return "no weights file (" + ", ".join(_WEIGHTS[:3]) + ", ...)"
    for f in sorted(folder.rglob("*")):
        if not f.is_file():
            continue
        rel = f.relative_to(folder)
        if f.suffix == ".safetensors":
            from safetensors import safe_open

            try:
                with safe_open(str(f), framework="numpy"):
                    pass
            except Exception as e:  # safetensors raises its own error type for a cut file
                return f"{rel} is cut short or corrupt ({str(e).splitlines()[0][:80]})"
        elif f.suffix in (".pt", ".pth", ".bin"):
            if f.stat().st_size == 0 or not zipfile.is_zipfile(f):
                return f"{rel} is cut short or corrupt (not a whole torch file)"
    return None


def newest_complete_checkpoint(output_dir: Path) -> tuple[Path | None, list[str]]:
    """The highest-numbered complete ``checkpoint-N`` in ``output_dir``, and why each newer one was passed by."""
    if not output_dir.is_dir():
        return None, []
    found = sorted(((int(m.group(1)), p) for p in output_dir.iterdir()
                    if p.is_dir() and (m := _CHECKPOINT.match(p.name))), reverse=True)
    skipped = []
    for _, folder in found:
        why = checkpoint_problem(folder)
        if why is None:
            return folder, skipped
        skipped.append(f"{folder.name}: {why}")
    return None, skipped


def _checkpoint_step(folder: str | None) -> int:
    """The step a checkpoint was saved at (0 for none), from its trainer_state.json."""
    import json

    if not folder:
        return 0
    try:
        return int(json.loads((Path(folder) / "trainer_state.json").read_text(encoding="utf-8"))["global_step"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def resolve_resume(spec: str | None, output_dir: Path) -> str | None:
    """The checkpoint to resume from (None: start at step 0), saying in the log which one and why.

    ``auto`` takes the newest complete checkpoint, passing over any a kill left half-written (they are
    kept for inspection; the run re-saves them when it gets there), so a run is never stuck on a broken one.
    """
    s = (spec or "auto").strip()
    if s.lower() in ("none", "no", "false", "off"):
        return None
    if s.lower() == "auto":
        chosen, skipped = newest_complete_checkpoint(output_dir)
        if skipped:
            log.warning("passing over incomplete checkpoints in %s: %s", output_dir, "; ".join(skipped))
        if chosen is not None:
            log.info("resuming from %s: the newest complete checkpoint%s", chosen,
                     f" ({len(skipped)} newer one(s) incomplete)" if skipped else "")
            return str(chosen)
        if skipped:
            log.warning("no complete checkpoint in %s: starting from step 0", output_dir)
        return None
    folder = Path(s)
    if not folder.is_dir():
        raise InputError(f"--resume {s}: no such checkpoint folder; use auto, none or a checkpoint-N path")
    why = checkpoint_problem(folder)
    if why:
        alt, _ = newest_complete_checkpoint(folder.parent)
        hint = f"--resume {alt} (the newest complete one)" if alt else "--resume none to start afresh"
        raise InputError(f"--resume {s}: cannot resume from it: {why}; use {hint}, or --resume auto")
    return s


MAX_NAMED = 10  # unreadable images named in the error; the rest are counted


def _image_problem(path: Path) -> str | None:
    """Why the trainer could not read ``path`` (None when it can). JPEGs decode at 1/8 scale: every byte
    is still read, so a cut file is found, at a fraction of the cost of a full decode."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            if im.format == "JPEG":
                im.draft("RGB", (max(1, im.width // 8), max(1, im.height // 8)))
            im.load()
    except Exception as e:  # PIL raises many types for broken files; all mean "cannot read it"
        return f"{type(e).__name__}: {str(e).splitlines()[0][:60]}" if str(e) else type(e).__name__
    return None


def check_images(examples) -> None:
    """Read every training image once before anything is created, and name every one that cannot be read
    (up to MAX_NAMED), rather than stopping at the first one hours into a run."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    paths = list(dict.fromkeys(e.image_path for e in examples))
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        problems = [(p, why) for p, why in zip(paths, pool.map(_image_problem, paths)) if why]
    if problems:
        named = "; ".join(f"{p} ({why})" for p, why in problems[:MAX_NAMED])
        more = f"; and {len(problems) - MAX_NAMED} more" if len(problems) > MAX_NAMED else ""
        raise InputError(f"{len(problems)} of {len(paths)} training images cannot be read: {named}{more}; "
                         "remove them from the data or replace them")


def whole_run_train_loss(log_history: list[dict], start_step: int, session_loss: float, global_step: int):
    """The mean training loss over every step of the run, also when it was resumed from ``start_step``.

    The Trainer's own ``training_loss`` covers only the steps this process ran. The steps before the
    checkpoint are taken from the loss log the checkpoint carries (each logged value stands for the steps
    since the previous one); None when that log has nothing.
    """
    if start_step <= 0 or global_step <= start_step:
        return session_loss if start_step <= 0 else None
    prior = [(int(r["step"]), float(r["loss"])) for r in log_history
             if "loss" in r and r.get("step") is not None and r["step"] <= start_step]
    if not prior:
        return None
    total, prev = 0.0, 0
    for step, loss in prior:
        total += loss * (step - prev)
        prev = step
    total += prior[-1][1] * (start_step - prev)  # steps after the checkpoint's last log line
    return (total + session_loss * (global_step - start_step)) / global_step


def load_processor(path: str, model_args):
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(path, trust_remote_code=model_args.trust_remote_code)
    if model_args.max_pixels:
        ip = processor.image_processor
        size = getattr(ip, "size", None)
        if isinstance(size, dict) and "longest_edge" in size and "shortest_edge" in size:
            ip.size = {**size, "longest_edge": int(model_args.max_pixels)}
        else:
            raise InputError(f"--max_pixels: {type(ip).__name__} has no pixel budget; drop the option for this model")
        if hasattr(ip, "max_pixels"):
            ip.max_pixels = int(model_args.max_pixels)
    return processor


def load_model(path: str, model_args, lora_args, training_args):
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText

    from subtitle_vlm.train.families import family_for
    from subtitle_vlm.train.lora import quantization_config

    dtype = torch.bfloat16 if training_args.bf16 else torch.float16 if training_args.fp16 else torch.float32
    kwargs = {"dtype": dtype, "trust_remote_code": model_args.trust_remote_code,
              "attn_implementation": choose_attn_implementation(model_args.attn_implementation)}
    if lora_args.qlora:
        config = AutoConfig.from_pretrained(path, trust_remote_code=model_args.trust_remote_code)
        try:
            fam = family_for(config)
        except ValueError:
            fam = None
        kwargs["quantization_config"] = quantization_config(dtype, fam)
        kwargs["device_map"] = {"": training_args.local_process_index}
    try:
        model = AutoModelForImageTextToText.from_pretrained(path, **kwargs)
    except ValueError as e:
        if "attn_implementation" not in str(e) and "SDPA" not in str(e) and "sdpa" not in str(e):
            raise
        log.warning("%s; falling back to eager attention", e)
        kwargs["attn_implementation"] = "eager"
        model = AutoModelForImageTextToText.from_pretrained(path, **kwargs)
    model.config.use_cache = False  # the cache is useless during training and clashes with checkpointing
    return model


def _peak_memory() -> dict:
    import resource

    import torch

    if torch.cuda.is_available():
        return {"peak_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1),
                "peak_memory_kind": "cuda_max_allocated"}
    # ru_maxrss is in KiB on Linux.
    return {"peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "peak_memory_kind": "cpu_max_rss"}


def _make_trainer_class():
    from transformers import Trainer

    class SubtitleTrainer(Trainer):
        """Trainer whose evaluation also generates on a validation subset and logs CER / mean Levenshtein."""

        def __init__(self, *args, generation_evaluator=None, **kwargs):
            super().__init__(*args, **kwargs)
            self.generation_evaluator = generation_evaluator

        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
            metrics = super().evaluate(eval_dataset, ignore_keys, metric_key_prefix)
            if self.generation_evaluator is not None:
                gen = self.generation_evaluator.evaluate(self.model)
                gen = {f"{metric_key_prefix}_{k}": v for k, v in gen.items()}
                self.log(gen)
                metrics.update(gen)
            return metrics

    return SubtitleTrainer


def build_run_config(args: TrainArgs, *, base_path: str, family, prompt: str) -> dict:
    t = args.training
    lora = args.lora
    return {
        "kind": "adapter",
        "base_model": base_path,
        "base_model_name": args.model.model_name_or_path,
        "family": family.name,
        "trust_remote_code": args.model.trust_remote_code,
        "prompt": prompt,
        "crop": str(parse_crop(args.data.crop)),
        "normalize": args.data.normalize,
        "max_new_tokens": args.data.max_new_tokens,
        "lora": {"r": lora.lora_r, "alpha": lora.lora_alpha, "dropout": lora.lora_dropout,
                 "target_modules": None, "modules_to_save": None, "train_projector": lora.train_projector,
                 "train_vision": lora.train_vision, "qlora": lora.qlora},
        "data": {"train": [str(Path(p).resolve()) for p in args.data.train_data],
                 "eval": [str(Path(p).resolve()) for p in args.data.eval_data]},
        "training": {"max_steps": t.max_steps, "num_train_epochs": t.num_train_epochs,
                     "learning_rate": t.learning_rate, "per_device_train_batch_size": t.per_device_train_batch_size,
                     "gradient_accumulation_steps": t.gradient_accumulation_steps,
                     "dtype": "bf16" if t.bf16 else "fp16" if t.fp16 else "fp32",
                     "deepspeed": t.deepspeed if isinstance(t.deepspeed, str) else bool(t.deepspeed),
                     "gradient_checkpointing": bool(t.gradient_checkpointing),
                     "world_size": t.world_size, "seed": t.seed},
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "subtitle_vlm_version": __version__,
    }


def run_training(args: TrainArgs) -> dict:
    """Train and save a run directory; returns the summary written to ``summary.json``."""
    import torch

    from subtitle_vlm.train.callbacks import GenerationEvaluator, JsonlLogCallback, RunConfigCallback
    from subtitle_vlm.train.collator import VLMCollator
    from subtitle_vlm.train.data import FrameDataset, choose_prompt, load_examples
    from subtitle_vlm.train.families import family_for
    from subtitle_vlm.train.lora import apply_lora, trainable_summary
    from subtitle_vlm.train.tiny import resolve_model_name

    targs = args.training
    out = Path(targs.output_dir)
    main_process = targs.process_index == 0

    # Every input is checked before the output folder is made, so bad data leaves nothing behind.
    train_examples = load_examples(args.data.train_data)
    eval_examples = load_examples(args.data.eval_data) if args.data.eval_data else []
    check_images(train_examples + eval_examples)
    if main_process:
        check_writable_dir(out)
    prompt = choose_prompt(train_examples, args.data.prompt, default_prompt())
    override = bool(args.data.prompt)

    from transformers import set_seed

    base_path = resolve_model_name(args.model.model_name_or_path)
    set_seed(targs.seed)  # LoRA initialisation is random: same seed, same run
    processor = load_processor(base_path, args.model)
    model = load_model(base_path, args.model, args.lora, targs)
    family = family_for(model)
    model = apply_lora(model, family, args.lora, gradient_checkpointing=bool(targs.gradient_checkpointing))
    counts = trainable_summary(model)
    log.info("LoRA on %s (%s): %d of %d parameters trainable", family.name, base_path,
             counts["trainable_parameters"], counts["total_parameters"])

    ds_kwargs = {"prompt": prompt, "crop": args.data.crop, "normalize_profile": args.data.normalize,
                 "override_prompt": override}
    train_ds = FrameDataset(train_examples, **ds_kwargs)
    eval_ds = FrameDataset(eval_examples, **ds_kwargs) if eval_examples else None

    run_cfg = build_run_config(args, base_path=base_path, family=family, prompt=prompt)
    peft_cfg = model.peft_config["default"]
    tm = peft_cfg.target_modules
    run_cfg["lora"]["target_modules"] = tm if isinstance(tm, str) else sorted(tm)
    run_cfg["lora"]["modules_to_save"] = sorted(peft_cfg.modules_to_save or [])
    if main_process:
        save_train_config(args, out)

    if targs.label_names is None:
        targs.label_names = ["labels"]
    zero3 = False
    if targs.deepspeed:
        from transformers.integrations.deepspeed import is_deepspeed_zero3_enabled

        zero3 = is_deepspeed_zero3_enabled()
    evaluator = GenerationEvaluator(processor, eval_ds, max_samples=args.data.max_eval_samples,
                                    max_new_tokens=args.data.max_new_tokens,
                                    batch_size=targs.per_device_eval_batch_size,
                                    normalize_profile=args.data.normalize, synced_gpus=zero3) if eval_ds else None
    trainer = _make_trainer_class()(
        model=model, args=targs, train_dataset=train_ds, eval_dataset=eval_ds,
        data_collator=VLMCollator(processor, family), processing_class=processor,
        callbacks=[JsonlLogCallback(out), RunConfigCallback(run_cfg)], generation_evaluator=evaluator)

    resume = resolve_resume(targs.resume_from_checkpoint or args.model.resume, out)
    start_step = _checkpoint_step(resume)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume)
    train_seconds = time.perf_counter() - t0

    trainer.save_model(str(out))  # the adapter (gathered from ZeRO-3 shards when needed)
    eval_metrics = trainer.evaluate() if eval_ds is not None else {}
    losses = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    summary = {
        "output_dir": str(out),
        "base_model": base_path,
        "family": family.name,
        "train_seconds": round(train_seconds, 2),
        "train_runtime_s": result.metrics.get("train_runtime"),
        "global_step": trainer.state.global_step,
        # the whole run's mean loss, the steps before a resume included; the session's alone beside it
        "train_loss": whole_run_train_loss(trainer.state.log_history, start_step, result.training_loss,
                                           trainer.state.global_step),
        "train_loss_session": result.training_loss,
        "session_steps": trainer.state.global_step - start_step,
        "first_logged_loss": losses[0] if losses else None,
        "last_logged_loss": losses[-1] if losses else None,
        "resumed_from": resume,
        "train_samples": len(train_ds),
        "eval": eval_metrics,
        "device": "cuda" if torch.cuda.is_available() and not targs.use_cpu else "cpu",
        "world_size": targs.world_size,
        "deepspeed": run_cfg["training"]["deepspeed"],
        **counts,
        **_peak_memory(),
    }
    if trainer.is_world_process_zero():
        processor.save_pretrained(str(out))
        save_run_config(out, {**run_cfg, "step": trainer.state.global_step})
        trainer.state.save_to_json(str(out / "trainer_state.json"))
        atomic_write_json(out / SUMMARY_NAME, summary)
    return summary
