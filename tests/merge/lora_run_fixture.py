"""A run directory as 'subtitle-vlm train' leaves it (adapter + processor + run_config.json), made without
training: a tiny model with a LoRA adapter whose weights are random, so the adapter visibly changes outputs."""

import shutil
from pathlib import Path

LM_TARGETS = r".*(language_model|text_model).*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
PROMPT = "請讀出畫面底部的字幕"


def tiny_base(family: str) -> str:
    from subtitle_vlm.train.tiny import resolve_model_name

    return resolve_model_name(f"tiny:{family}")


def scrambled_base(family: str, folder: Path, std: float = 0.5) -> Path:
    """A copy of the tiny model with large random weights: its readings depend on the image, unlike the
    near-constant output of a freshly initialised model."""
    import torch
    from transformers import AutoModelForImageTextToText

    if (folder / "config.json").exists():
        return folder
    shutil.copytree(tiny_base(family), folder)
    model = AutoModelForImageTextToText.from_pretrained(folder)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 1.0 if "embed" in name else std, generator=gen)
    model.save_pretrained(folder)
    return folder


def make_run(family: str, run_dir: Path, base: str | None = None, crop: str = "none",
             modules_to_save: list[str] | None = None, seed: int = 0) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from subtitle_vlm.train.run_config import save_run_config

    base = base or tiny_base(family)
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_pretrained(base)
    lcfg = LoraConfig(r=4, lora_alpha=8, target_modules=LM_TARGETS, init_lora_weights=False,
                      modules_to_save=modules_to_save)
    peft_model = get_peft_model(model, lcfg)
    if modules_to_save:
        with torch.no_grad():  # a "trained" projector: differs from the base's
            for n, p in peft_model.named_parameters():
                if "modules_to_save" in n:
                    p.add_(torch.randn_like(p) * 0.1)
    peft_model.save_pretrained(run_dir)
    AutoProcessor.from_pretrained(base).save_pretrained(run_dir)
    save_run_config(run_dir, {"kind": "adapter", "base_model": str(base), "base_model_name": f"tiny:{family}",
                              "family": family, "prompt": PROMPT, "crop": crop, "max_new_tokens": 10,
                              "trust_remote_code": False})
    (run_dir / "summary.json").write_text('{"train_runtime": 1.0}\n')
    return run_dir
