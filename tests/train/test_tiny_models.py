"""Tiny random VLMs: every family loads through the Auto classes, reads its chat format, covers the corpus."""

from __future__ import annotations

import pytest

from subtitle_vlm.train import tiny


@pytest.mark.parametrize("family", tiny.FAMILIES)
def test_tiny_model_loads_and_runs(tiny_model, family):
    import torch
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor

    path = tiny_model(family)
    model = AutoModelForImageTextToText.from_pretrained(path)
    processor = AutoProcessor.from_pretrained(path)
    n_params = sum(p.numel() for p in model.parameters())
    assert 50_000 < n_params < 1_500_000
    assert model.config.model_type == family

    tok = processor.tokenizer
    end = tiny.SPECS[family].eos
    assert model.generation_config.eos_token_id == tok.convert_tokens_to_ids(end)

    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "字幕"}]}]
    prompt = processor.apply_chat_template(msgs, add_generation_prompt=True)
    assert "字幕" in prompt
    enc = processor(text=[prompt], images=[[Image.new("RGB", (1280, 720), (20, 40, 60))]], return_tensors="pt")
    image_tokens = int((enc["input_ids"] == model.config.image_token_id).sum()) if hasattr(
        model.config, "image_token_id") else int((enc["input_ids"] == model.config.image_token_index).sum())
    # Small images keep CPU steps fast: tens of image tokens, not hundreds.
    assert 16 <= image_tokens <= 100
    with torch.no_grad():
        out = model(**enc, labels=enc["input_ids"])
    assert torch.isfinite(out.loss)


@pytest.mark.parametrize("family", tiny.FAMILIES)
def test_tokenizer_is_character_level_and_covers_corpus(tiny_model, family):
    from transformers import AutoProcessor

    from subtitle_vlm.text.sources import load_sentences

    tok = AutoProcessor.from_pretrained(tiny_model(family)).tokenizer
    text = "".join(load_sentences(None)) + "０１２ ABC xyz，。？！「」…"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert len(ids) == len(text)  # one token per character
    assert tok.unk_token_id not in ids
    assert tok.decode(ids) == text
    end = tiny.SPECS[family].eos
    assert tok(end, add_special_tokens=False)["input_ids"] == [tok.convert_tokens_to_ids(end)]


def test_resolve_builds_once_and_reuses(tmp_path, monkeypatch):
    path = tiny.resolve_model_name("tiny:llava", cache_dir=tmp_path)
    assert (tmp_path / path.split("/")[-1] / "config.json").is_file()

    def boom(*a, **k):
        raise AssertionError("rebuilt a cached tiny model")

    monkeypatch.setattr(tiny, "build_tiny_model", boom)
    assert tiny.resolve_model_name("tiny:llava", cache_dir=tmp_path) == path
    # No temporary build folders are left behind.
    assert [p.name for p in tmp_path.iterdir()] == [path.split("/")[-1]]


def test_same_seed_same_weights_other_seed_differs(tmp_path):
    from safetensors.torch import load_file

    a = load_file(tiny.build_tiny_model("qwen2_vl", tmp_path / "a", seed=3) / "model.safetensors")
    b = load_file(tiny.build_tiny_model("qwen2_vl", tmp_path / "b", seed=3) / "model.safetensors")
    c = load_file(tiny.build_tiny_model("qwen2_vl", tmp_path / "c", seed=4) / "model.safetensors")
    assert a.keys() == b.keys()
    assert all((a[k] == b[k]).all() for k in a)
    assert any((a[k] != c[k]).any() for k in a)


def test_non_tiny_names_pass_through_and_bad_family_is_named():
    assert tiny.resolve_model_name("Qwen/Qwen2-VL-2B-Instruct") == "Qwen/Qwen2-VL-2B-Instruct"
    with pytest.raises(ValueError, match="qwen2_vl"):
        tiny.resolve_model_name("tiny:nope")


def test_build_inside_a_zero3_process_saves_full_weights(tmp_path, monkeypatch):
    """TrainingArguments(deepspeed=zero3) registers a global that makes from_config shard weights;
    a tiny model built afterwards must still be saved whole."""
    import weakref

    from safetensors.torch import load_file
    from transformers.integrations import deepspeed as hf_ds

    class Zero3:
        def is_zero3(self):
            return True

    marker = Zero3()
    monkeypatch.setattr(hf_ds, "_hf_deepspeed_config_weak_ref", weakref.ref(marker))
    out = tiny.build_tiny_model("llava", tmp_path / "m")
    assert hf_ds.is_deepspeed_zero3_enabled()  # restored for the trainer that follows
    weights = load_file(str(out / "model.safetensors"))
    assert weights and all(t.numel() > 0 for t in weights.values())
