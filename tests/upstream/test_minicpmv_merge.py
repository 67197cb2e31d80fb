"""merge.py's logic on a stand-in with MiniCPM-V's parameter names: the latest checkpoint is chosen and named,
merged weights equal base + LoRA delta (q/k of the LLM only) + the checkpoint's extra weights, an empty final
save is refused, and the merged folder gets the base's code / tokenizer / processor files beside the weights."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from subtitle_vlm.engines.minicpmv_lora import (EXTRA_WEIGHTS, apply_adapter, choose_adapter,  # noqa: E402
                                                load_extra_weights)
from subtitle_vlm.io import InputError  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from minicpmv_standin import LORA_TARGETS, MiniCPMVStandIn  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
R, ALPHA = 4, 8


def _load_merge_script():
    spec = importlib.util.spec_from_file_location("minicpm_merge_script", REPO / "modification/minicpm/merge.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _is_extra(name: str) -> bool:  # finetune/trainer.py's selection
    return "vpm" in name or "resampler" in name or "embed_tokens" in name


def _train_like_finetune_py(seed: int):
    """A peft model as finetune.py makes it, with 'trained' LoRA and extra weights (random, non-zero)."""
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(MiniCPMVStandIn(seed=0), LoraConfig(r=R, lora_alpha=ALPHA, target_modules=LORA_TARGETS,
                                                               lora_dropout=0.05, task_type="CAUSAL_LM"))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name or _is_extra(name):
                p.add_(torch.randn(p.shape, generator=g) * 0.1)
    return model


def _save_checkpoint(model, folder: Path, empty_extra: bool = False) -> None:
    """What finetune/trainer.py's _save writes for a LoRA run."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    extra = {} if empty_extra else {k: v.clone() for k, v in model.state_dict().items() if _is_extra(k)}
    torch.save(extra, folder / EXTRA_WEIGHTS)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("minicpmv_lora")
    early, late = _train_like_finetune_py(1), _train_like_finetune_py(2)
    _save_checkpoint(early, out / "checkpoint-2")
    _save_checkpoint(late, out / "checkpoint-10")
    _save_checkpoint(late, out, empty_extra=True)  # the final save without ZeRO-3
    (out / "run_config.json").write_text(json.dumps({"format": "subtitle-vlm-run/1", "kind": "adapter",
                                                     "prompt": "讀字幕", "base_model": "base"}))
    return out, late


def _expected_state(trained) -> dict:
    """base + scale * B @ A on each LoRA layer, the trained extra weights, the base everywhere else."""
    base = MiniCPMVStandIn(seed=0).state_dict()
    tsd = trained.state_dict()
    exp = {}
    for k, v in base.items():
        exp[k] = v.clone()
        extra_key = "base_model.model." + k
        if _is_extra(k):
            exp[k] = tsd[extra_key].clone()
        mod = k.rsplit(".weight", 1)[0]
        a = tsd.get(f"base_model.model.{mod}.lora_A.default.weight")
        if a is not None:
            b = tsd[f"base_model.model.{mod}.lora_B.default.weight"]
            exp[k] = exp[k] + (ALPHA / R) * (b @ a)
    return exp


def test_merge_picks_latest_checkpoint_and_matches_base_plus_delta_plus_extra(run_dir):
    out, trained = run_dir
    merge = _load_merge_script()
    said = []
    merged, choice, report = merge.merge_model(MiniCPMVStandIn(seed=0), out, log=said.append)
    assert choice.path == out / "checkpoint-10"
    assert any("checkpoint-10" in s and "latest of 2" in s for s in said), said
    assert report["lora_modules"] == 4  # q and k of both LLM layers, never the vision tower's q/k
    n_extra = sum(1 for k in trained.state_dict() if _is_extra(k))
    assert report["extra_tensors"] == n_extra

    got = merged.state_dict()
    exp = _expected_state(trained)
    assert set(got) == set(exp)
    for k in exp:
        torch.testing.assert_close(got[k], exp[k], rtol=1e-6, atol=1e-6, msg=k)
    base = MiniCPMVStandIn(seed=0).state_dict()
    # Sanity of the expectation itself: LoRA layers and extra weights changed, the rest did not.
    assert not torch.allclose(got["llm.model.layers.0.self_attn.q_proj.weight"],
                              base["llm.model.layers.0.self_attn.q_proj.weight"])
    assert torch.equal(got["llm.model.layers.0.self_attn.v_proj.weight"],
                       base["llm.model.layers.0.self_attn.v_proj.weight"])
    assert torch.equal(got["llm.lm_head.weight"], base["llm.lm_head.weight"])
    # The merged plain model computes what the adapter model computes.
    trained.eval()
    ids = torch.tensor([[1, 5, 7, 3]])
    torch.testing.assert_close(merged(ids), trained.base_model.model(ids))  # LoRA layers active


def test_merge_from_an_explicit_older_checkpoint(run_dir):
    out, _ = run_dir
    choice = choose_adapter(out / "checkpoint-2")
    assert choice.path == out / "checkpoint-2" and "given" in choice.reason
    early = _train_like_finetune_py(1)
    merged, _ = apply_adapter(MiniCPMVStandIn(seed=0), choice.path)
    torch.testing.assert_close(merged.state_dict()["resampler.query"],
                               early.state_dict()["base_model.model.resampler.query"])


def test_refuses_final_save_with_empty_extra_weights(tmp_path):
    model = _train_like_finetune_py(3)
    _save_checkpoint(model, tmp_path, empty_extra=True)
    with pytest.raises(InputError, match=r"empty.*checkpoint-N"):
        choose_adapter(tmp_path)
    with pytest.raises(InputError, match="empty"):
        load_extra_weights(tmp_path)
    (tmp_path / EXTRA_WEIGHTS).unlink()
    with pytest.raises(InputError, match="missing"):
        choose_adapter(tmp_path)
    # With ZeRO-3 the final save holds the extra weights: then it is usable.
    _save_checkpoint(model, tmp_path)
    assert choose_adapter(tmp_path).path == tmp_path


def test_bad_extra_weights_are_named(tmp_path):
    model = _train_like_finetune_py(4)
    ck = tmp_path / "checkpoint-1"
    _save_checkpoint(model, ck)
    torch.save({"base_model.model.vpm.not_a_layer.weight": torch.zeros(2)}, ck / EXTRA_WEIGHTS)
    with pytest.raises(InputError, match="do not fit this base model"):
        apply_adapter(MiniCPMVStandIn(seed=0), ck)
    torch.save({"base_model.model.llm.lm_head.weight": torch.zeros(2)}, ck / EXTRA_WEIGHTS)
    with pytest.raises(InputError, match="unexpected weights"):
        load_extra_weights(ck)
    (ck / EXTRA_WEIGHTS).write_bytes(b"not a torch file")
    with pytest.raises(InputError, match="not a readable"):
        load_extra_weights(ck)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="neither a checkpoint-N"):
        choose_adapter(empty)
    with pytest.raises(InputError, match="no such folder"):
        choose_adapter(tmp_path / "missing")


def test_merged_folder_gets_side_files_and_run_config(run_dir, tmp_path):
    out, _ = run_dir
    merge = _load_merge_script()
    base_dir = tmp_path / "base"
    base_dir.mkdir()
    side = {"modeling_minicpmv.py": "# model code", "configuration_minicpm.py": "# config code",
            "resampler.py": "# resampler", "tokenizer.json": "{}", "tokenizer_config.json": "{}",
            "special_tokens_map.json": "{}", "preprocessor_config.json": "{}", "processing_minicpmv.py": "#",
            "generation_config.json": "{}"}
    for name, text in side.items():
        (base_dir / name).write_text(text)
    for name in ("model-00001-of-00007.safetensors", "model.safetensors.index.json", "config.json"):
        (base_dir / name).write_text("base weights / index / config")
    merged, choice, _ = merge.merge_model(MiniCPMVStandIn(seed=0), out, log=lambda s: None)
    dest = tmp_path / "merged"
    copied = merge.write_merged_dir(merged, dest, base_dir, merge.merged_run_config(choice.path, "base", dest))
    assert set(copied) == set(side)
    for name, text in side.items():
        assert (dest / name).read_text() == text
    assert not (dest / "model-00001-of-00007.safetensors").exists()
    assert not (dest / "model.safetensors.index.json").exists()
    assert json.loads((dest / "config.json").read_text())["written_by"] == "merged save"  # not the base's
    run_cfg = json.loads((dest / "run_config.json").read_text(encoding="utf-8"))
    assert run_cfg["kind"] == "merged" and run_cfg["prompt"] == "讀字幕"
    assert run_cfg["merged_from"]["adapter"] == str((out / "checkpoint-10").resolve())
    assert not (tmp_path / "merged.partial").exists()
    from safetensors.torch import load_file

    torch.testing.assert_close(load_file(dest / "model.safetensors")["resampler.query"], merged.state_dict()["resampler.query"])
    with pytest.raises(InputError, match="exists"):
        merge.write_merged_dir(merged, dest, base_dir, {})
