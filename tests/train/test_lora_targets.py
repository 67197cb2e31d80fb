"""LoRA targets: the language model's projections by default, never the vision tower unless asked."""

from __future__ import annotations

import pytest

from subtitle_vlm.io import InputError
from subtitle_vlm.train import tiny
from subtitle_vlm.train.families import family_for
from subtitle_vlm.train.lora import apply_lora
from subtitle_vlm.train.train_config import LoraArguments


def _lora_modules(model) -> list[str]:
    return sorted({n.rsplit(".lora_A", 1)[0] for n, _ in model.named_parameters() if ".lora_A" in n})


def _load(tiny_model, family):
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(tiny_model(family))
    return model, family_for(model)


@pytest.mark.parametrize("family", tiny.FAMILIES)
def test_default_targets_are_language_model_projections_only(tiny_model, family):
    model, fam = _load(tiny_model, family)
    peft_model = apply_lora(model, fam, LoraArguments(lora_r=4))
    mods = _lora_modules(peft_model)
    # 2 layers x (q, k, v, o, gate, up, down)
    assert len(mods) == 2 * 7
    assert all(f".{fam.lm}.layers." in m for m in mods)
    assert not any(f".{fam.vision}." in m for m in mods)
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)


@pytest.mark.parametrize("family", tiny.FAMILIES)
def test_projector_and_vision_only_when_asked(tiny_model, family):
    model, fam = _load(tiny_model, family)
    peft_model = apply_lora(model, fam, LoraArguments(lora_r=4, train_projector=True, train_vision=True))
    mods = _lora_modules(peft_model)
    vision = [m for m in mods if f".{fam.vision}." in m]
    assert vision, "train_vision put no LoRA on the vision tower"
    assert not any(fam.projector in m for m in vision)
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad and "lora_" not in n]
    # The projector is trained fully (a modules_to_save copy) and nothing else outside LoRA.
    assert trainable and all(fam.projector in n and "modules_to_save" in n for n in trainable)


def test_custom_regex_and_no_match_error(tiny_model):
    model, fam = _load(tiny_model, "qwen2_vl")
    peft_model = apply_lora(model, fam, LoraArguments(lora_r=2, lora_target=r".*language_model.*\.q_proj"))
    assert len(_lora_modules(peft_model)) == 2
    model, fam = _load(tiny_model, "qwen2_vl")
    with pytest.raises(InputError, match="lora_target"):
        apply_lora(model, fam, LoraArguments(lora_target=r"nothing\.here"))
