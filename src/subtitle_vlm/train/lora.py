"""LoRA on the language model by default; the projector and the vision tower only when asked.

CLIP and SigLIP towers have ``q_proj``/``v_proj`` layers too, so targets are a full-match regex anchored on
the language model's module name, never bare layer names.
"""

from __future__ import annotations

import logging

from subtitle_vlm.io import InputError
from subtitle_vlm.train.families import Family

log = logging.getLogger(__name__)


def target_regex(family: Family, *, custom: str | None = None, train_vision: bool = False) -> str:
    if custom:
        return custom
    parts = [family.lm_regex()]
    if train_vision:
        parts.append(family.vision_regex())
    return parts[0] if len(parts) == 1 else "|".join(f"(?:{p})" for p in parts)


def build_lora_config(family: Family, lora_args):
    from peft import LoraConfig

    modules = list(lora_args.modules_to_save)
    if lora_args.train_projector and family.projector not in modules:
        modules.append(family.projector)
    return LoraConfig(
        r=lora_args.lora_r, lora_alpha=lora_args.lora_alpha, lora_dropout=lora_args.lora_dropout,
        target_modules=target_regex(family, custom=lora_args.lora_target, train_vision=lora_args.train_vision),
        modules_to_save=modules or None, bias="none", task_type="CAUSAL_LM")


def apply_lora(model, family: Family, lora_args, *, gradient_checkpointing: bool = False):
    """Wrap ``model`` in a peft model; trainable weights are kept in float32 for stable mixed precision."""
    import torch
    from peft import get_peft_model, prepare_model_for_kbit_training

    config = build_lora_config(family, lora_args)
    if lora_args.qlora:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing,
                                                gradient_checkpointing_kwargs={"use_reentrant": False})
    try:
        peft_model = get_peft_model(model, config)
    except ValueError as e:
        raise InputError(f"LoRA target {config.target_modules!r} matched no layer of this model ({e}); "
                         "fix --lora_target") from None
    for p in peft_model.parameters():
        if p.requires_grad and p.dtype != torch.float32:
            p.data = p.data.float()
    return peft_model


def trainable_summary(model) -> dict:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable_parameters": trainable, "total_parameters": total}


def quantization_config(compute_dtype, family: Family | None = None):
    """BitsAndBytes 4-bit (NF4, double quantisation) config, or a message saying what is missing."""
    import importlib.util

    import torch

    if not torch.cuda.is_available():
        raise InputError("--qlora needs a CUDA GPU (bitsandbytes 4-bit kernels); drop --qlora on this machine")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise InputError("--qlora needs bitsandbytes: pip install bitsandbytes (or drop --qlora)")
    from transformers import BitsAndBytesConfig

    # Only the language model is quantised: the vision tower and projector are small and precision-sensitive.
    skip = [family.vision, family.projector, "lm_head"] if family else ["lm_head"]
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute_dtype, llm_int8_skip_modules=skip)
