"""MiniCPM-V LoRA checkpoints: find the right one, read its extra weights, fold both into a model.

Upstream ``finetune.py`` (OpenBMB/MiniCPM-V @ 9bd93a2) trains, besides the LoRA matrices on the LLM, the
resampler, ``llm.model.embed_tokens`` and (with ``tune_vision``) the vision encoder ``vpm``. Each
``checkpoint-N/`` holds the peft adapter plus ``vpm_resampler_embedtokens.pt``, a state dict of those
non-LoRA weights. Its final save into ``output_dir`` keeps only the LoRA tensors unless ZeRO-3 was on,
which leaves that file empty there: so we merge from a ``checkpoint-N/`` and check the file first.

Used by ``modification/minicpm/merge.py`` and by the ``minicpmv`` engine (``--adapter``). Functions take
model objects, so tests run them on small stand-ins with MiniCPM-V's parameter names.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from subtitle_vlm.io import InputError

EXTRA_WEIGHTS = "vpm_resampler_embedtokens.pt"
ADAPTER_CONFIG = "adapter_config.json"
# The names finetune/trainer.py selects into EXTRA_WEIGHTS.
EXTRA_KEY_PARTS = ("vpm", "resampler", "embed_tokens")
# Files of a base model folder that are weights (the merged model writes its own).
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".msgpack", ".h5", ".ckpt")
_CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
PEFT_PREFIX = "base_model.model."


@dataclass
class AdapterChoice:
    path: Path
    reason: str
    others: list[Path] = field(default_factory=list)


def _is_adapter(folder: Path) -> bool:
    return (folder / ADAPTER_CONFIG).is_file()


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    """``checkpoint-N`` folders holding an adapter, by N ascending."""
    out = Path(output_dir)
    found = []
    for p in out.iterdir() if out.is_dir() else []:
        m = _CHECKPOINT_RE.match(p.name)
        if m and p.is_dir() and _is_adapter(p):
            found.append((int(m.group(1)), p))
    return [p for _, p in sorted(found)]


def extra_weights_count(folder: str | Path) -> int:
    """How many tensors ``folder/vpm_resampler_embedtokens.pt`` holds (-1 when the file is missing)."""
    path = Path(folder) / EXTRA_WEIGHTS
    if not path.is_file():
        return -1
    return len(load_extra_weights(folder, allow_empty=True))


def choose_adapter(path: str | Path) -> AdapterChoice:
    """The adapter folder to merge: ``path`` itself when it is a checkpoint, else the latest checkpoint-N in it.

    An ``output_dir`` holding no checkpoint is accepted only when its extra weights file is not empty.
    """
    p = Path(path)
    if not p.is_dir():
        raise InputError(f"{p}: no such folder; pass a checkpoint-N folder of finetune_lora.sh's output_dir")
    if _CHECKPOINT_RE.match(p.name) and _is_adapter(p):
        return AdapterChoice(p, f"using {p.name} (given)")
    ckpts = list_checkpoints(p)
    if ckpts:
        latest = ckpts[-1]
        return AdapterChoice(latest, f"using {latest.name}, the latest of {len(ckpts)} checkpoint(s) in {p}",
                             ckpts[:-1])
    if _is_adapter(p):
        n = extra_weights_count(p)
        if n > 0:
            return AdapterChoice(p, f"using {p} (no checkpoint-N inside; its {EXTRA_WEIGHTS} has {n} tensors)")
        what = "is missing" if n < 0 else "is empty"
        raise InputError(
            f"{p}: this is finetune.py's final save and its {EXTRA_WEIGHTS} {what}: without ZeRO-3 that save "
            f"keeps only the LoRA tensors, so the trained resampler / embed_tokens / vision weights are not "
            f"there. Merge from one of its checkpoint-N folders instead (rerun training with save_steps <= "
            f"max_steps if there are none).")
    raise InputError(f"{p}: neither a checkpoint-N adapter folder nor an output_dir containing one "
                     f"(no {ADAPTER_CONFIG} found)")


def load_extra_weights(folder: str | Path, allow_empty: bool = False) -> dict:
    """The non-LoRA trained weights of a checkpoint, checked: present, not empty, only the expected names."""
    import torch

    path = Path(folder) / EXTRA_WEIGHTS
    if not path.is_file():
        raise InputError(f"{path}: missing; a checkpoint-N folder written by finetune.py with use_lora has it")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for a truncated or foreign file
        raise InputError(f"{path}: not a readable torch state dict ({e.__class__.__name__}: {e})") from None
    if not isinstance(state, dict):
        raise InputError(f"{path}: expected a state dict (name -> tensor), got {type(state).__name__}")
    if not state and not allow_empty:
        raise InputError(f"{path}: empty, so the trained resampler / embed_tokens / vision weights are not in it; "
                         f"use a checkpoint-N folder saved during training")
    odd = [k for k in state if not any(part in k for part in EXTRA_KEY_PARTS)]
    if odd:
        raise InputError(f"{path}: unexpected weights {odd[:3]} (expected only vpm.*, resampler.*, *embed_tokens*)")
    return dict(state)


def _to_peft_keys(state: dict, model_keys: set[str]) -> dict:
    """Saved names may carry peft's ``base_model.model.`` prefix (trainer saves the PeftModel) or not."""
    out = {}
    for k, v in state.items():
        if k in model_keys:
            out[k] = v
        elif PEFT_PREFIX + k in model_keys:
            out[PEFT_PREFIX + k] = v
        else:
            out[k] = v  # reported as not fitting by the caller
    return out


def apply_adapter(model, adapter_dir: str | Path, extra: dict | None = None, merge: bool = True):
    """base model -> base + LoRA (+ the checkpoint's extra weights), merged into plain weights when ``merge``.

    Returns ``(model, report)``; report says how many LoRA modules and extra tensors went in.
    """
    from peft import PeftModel

    adapter_dir = Path(adapter_dir)
    if extra is None:
        extra = load_extra_weights(adapter_dir)
    peft_model = PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=False)
    lora_modules = sorted({n.rsplit(".lora_A", 1)[0] for n, _ in peft_model.named_parameters() if ".lora_A" in n})
    if not lora_modules:
        raise InputError(f"{adapter_dir}: the adapter matched no module of this base model")
    model_keys = set(peft_model.state_dict().keys())
    state = _to_peft_keys(extra, model_keys)
    foreign = [k for k in state if k not in model_keys]
    if foreign:
        raise InputError(f"{adapter_dir / EXTRA_WEIGHTS}: {len(foreign)} weights do not fit this base model "
                         f"(first: {foreign[0]}); is it the base the run was trained from?")
    result = peft_model.load_state_dict(state, strict=False)
    unexpected = list(getattr(result, "unexpected_keys", []) or [])
    if unexpected:
        raise InputError(f"{adapter_dir / EXTRA_WEIGHTS}: weights not used by the model: {unexpected[:3]}")
    report = {"adapter": str(adapter_dir), "lora_modules": len(lora_modules), "extra_tensors": len(state)}
    if merge:
        return peft_model.merge_and_unload(), report
    return peft_model, report


def copy_side_files(base_dir: str | Path, out_dir: str | Path) -> list[str]:
    """Copy the base's remote code, tokenizer, processor and other non-weight files into ``out_dir``.

    Files the merged save already wrote (config.json, generation_config.json) are kept; weights are skipped.
    """
    base_dir, out_dir = Path(base_dir), Path(out_dir)
    copied = []
    for src in sorted(base_dir.iterdir()):
        name = src.name
        if not src.is_file() or name.startswith(".") or name.endswith(_WEIGHT_SUFFIXES) \
                or name.endswith(".index.json") or (out_dir / name).exists():
            continue
        shutil.copy2(src, out_dir / name)
        copied.append(name)
    return copied


def local_model_dir(name_or_path: str) -> Path:
    """A local folder for a model: the path itself, or the hub snapshot of its non-weight files."""
    p = Path(name_or_path)
    if p.is_dir():
        return p
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(name_or_path, allow_patterns=["*.py", "*.json", "*.txt", "*.model",
                                                                "*.tiktoken", "*.jinja"]))


__all__ = ["EXTRA_WEIGHTS", "AdapterChoice", "choose_adapter", "list_checkpoints", "load_extra_weights",
           "apply_adapter", "copy_side_files", "local_model_dir", "extra_weights_count"]
