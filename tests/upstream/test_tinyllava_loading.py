"""load_tinyllava on a stand-in with TinyLLaVA's module layout: a TinyLLaVA_Factory LoRA run folder (adapter +
language_model/ vision_tower/ connector/ full weights, saved from the peft-wrapped model) goes into the base,
the adapter is merged, no "lora" is needed in the path, and local paths switch the hub off."""

from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("peft")
from torch import nn  # noqa: E402

from subtitle_vlm.engines.tinyllava import load_factory_parts, load_tinyllava  # noqa: E402
from subtitle_vlm.io import InputError  # noqa: E402

TARGETS = r"language_model\..*\.(q_proj|k_proj|v_proj|dense)"


class TinyLLaVAStandIn(nn.Module):
    def __init__(self, d: int = 12, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.language_model = nn.Module()
        self.language_model.model = nn.Module()
        self.language_model.model.layers = nn.ModuleList()
        for _ in range(2):
            layer = nn.Module()
            layer.self_attn = nn.Module()
            for n in ("q_proj", "k_proj", "v_proj", "dense"):
                setattr(layer.self_attn, n, nn.Linear(d, d))
            self.language_model.model.layers.append(layer)
        self.language_model.lm_head = nn.Linear(d, 20)
        self.vision_tower = nn.Module()
        self.vision_tower._vision_tower = nn.Sequential(nn.Linear(6, d), nn.LayerNorm(d))
        self.connector = nn.Module()
        self.connector._connector = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, d))
        self.config = transformers.PretrainedConfig(tokenizer_model_max_length=3072, tokenizer_padding_side="right")

    def prepare_inputs_for_generation(self, *a, **k):
        return k


def _factory_run(folder) -> nn.Module:
    """Train-like a LoRA recipe run and save it the way lora_recipe.save does; returns the trained model."""
    from peft import LoraConfig, get_peft_model

    pm = get_peft_model(TinyLLaVAStandIn(), LoraConfig(r=4, lora_alpha=8, target_modules=TARGETS,
                                                       task_type="CAUSAL_LM"))
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for name, p in pm.named_parameters():
            if "lora_" in name or "connector" in name:
                p.add_(torch.randn(p.shape, generator=g) * 0.1)
    folder.mkdir(parents=True)
    pm.save_pretrained(str(folder))
    inner = pm.base_model.model
    for sub, module in (("language_model", inner.language_model), ("vision_tower", inner.vision_tower._vision_tower),
                        ("connector", inner.connector)):
        (folder / sub).mkdir()
        state = {k: v.detach().clone() for k, v in module.named_parameters() if "lora_" not in k}
        torch.save(state, folder / sub / "pytorch_model.bin")
    return pm


def test_load_tinyllava_merges_factory_run_offline(tmp_path, monkeypatch):
    run = tmp_path / "my_run"  # no "lora" in the name
    trained = _factory_run(run)
    base_dir = tmp_path / "base"
    base_dir.mkdir()
    seen = {}
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    import huggingface_hub.constants as hub_consts

    monkeypatch.setattr(hub_consts, "HF_HUB_OFFLINE", False)

    def fake_model(cls, path, **kw):
        seen["model"] = (path, kw)
        return TinyLLaVAStandIn()

    def fake_tok(cls, path, **kw):
        seen["tok"] = (path, kw)
        return "TOK"

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", classmethod(fake_model))
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", classmethod(fake_tok))
    model, tok, report = load_tinyllava(str(base_dir), str(run), device="cpu", trust_remote_code=True)
    assert os.environ["HF_HUB_OFFLINE"] == "1" and hub_consts.HF_HUB_OFFLINE is True
    assert tok == "TOK" and seen["tok"][1]["use_fast"] is False and seen["tok"][1]["model_max_length"] == 3072
    assert seen["model"][1]["trust_remote_code"] is True and seen["model"][1]["torch_dtype"] == torch.float32
    assert report["parts"] == ["language_model", "vision_tower", "connector"]

    got = model.state_dict()
    tsd = trained.state_dict()
    torch.testing.assert_close(got["connector._connector.0.weight"],
                               tsd["base_model.model.connector._connector.0.weight"])
    base_q = TinyLLaVAStandIn().state_dict()["language_model.model.layers.1.self_attn.q_proj.weight"]
    pre = "base_model.model.language_model.model.layers.1.self_attn.q_proj"
    delta = (8 / 4) * tsd[pre + ".lora_B.default.weight"] @ tsd[pre + ".lora_A.default.weight"]
    torch.testing.assert_close(got["language_model.model.layers.1.self_attn.q_proj.weight"], base_q + delta)
    assert not any("lora" in k for k in got)


def test_factory_parts_that_do_not_fit_are_named(tmp_path):
    run = tmp_path / "run"
    _factory_run(run)
    small = TinyLLaVAStandIn(d=8)
    with pytest.raises(InputError, match="language_model.*does not fit"):
        load_factory_parts(small, run)


def test_adapter_folder_must_hold_an_adapter(tmp_path, monkeypatch):
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained",
                        classmethod(lambda cls, *a, **k: TinyLLaVAStandIn()))
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", classmethod(lambda cls, *a, **k: "TOK"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    (tmp_path / "base").mkdir()
    (tmp_path / "run").mkdir()
    with pytest.raises(InputError, match="custom_finetune.sh"):
        load_tinyllava(str(tmp_path / "base"), str(tmp_path / "run"), device="cpu")
