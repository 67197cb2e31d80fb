"""Real training steps of each tiny family through the CLI, the run directory they leave, and resume."""

from __future__ import annotations

import json

import pytest

from subtitle_vlm.io import read_jsonl
from subtitle_vlm.train import tiny
from subtitle_vlm.train.run_config import load_run_config, resolve_model_dir
from subtitle_vlm.train.train_cli import main

pytestmark = pytest.mark.slow


def _train(out, data, *extra):
    argv = ["--model_name_or_path", extra[0], "--train_data", *data, "--output_dir", str(out),
            "--per_device_train_batch_size", "2", "--logging_steps", "1", "--learning_rate", "1e-3",
            "--lora_r", "4", "--lora_alpha", "8", *extra[1:]]
    assert main(argv) == 0


def _reload(run_dir):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    base, adapter, cfg = resolve_model_dir(run_dir)
    assert adapter == str(run_dir)
    model = PeftModel.from_pretrained(AutoModelForImageTextToText.from_pretrained(base), adapter)
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_b and any(torch.count_nonzero(p) for p in lora_b), "the saved adapter was never trained"
    return model, cfg


@pytest.mark.parametrize("family", tiny.FAMILIES)
def test_a_few_steps_per_family(tmp_path, tiny_model, frame_set16, family):
    from subtitle_vlm.data.prompts import DEFAULT_PROMPT

    tiny_model(family)  # builds it (or skips the family) before the CLI resolves the name
    out = tmp_path / "run"
    _train(out, [str(frame_set16)], f"tiny:{family}", "--max_steps", "2", "--save_steps", "2",
           "--eval_data", str(frame_set16), "--max_eval_samples", "2", "--max_new_tokens", "4",
           "--crop", "bottom=0.4")
    cfg = load_run_config(out)
    assert cfg["family"] == family and cfg["base_model_name"] == f"tiny:{family}"
    assert cfg["prompt"] == DEFAULT_PROMPT and cfg["crop"] == "bottom=0.4" and cfg["max_new_tokens"] == 4
    assert cfg["step"] == 2 and cfg["kind"] == "adapter"
    assert load_run_config(out / "checkpoint-2")["base_model"] == cfg["base_model"]
    resolved = json.loads((out / "train_config.json").read_text())
    assert resolved["lora"]["lora_r"] == 4 and resolved["training"]["max_steps"] == 2
    rows = read_jsonl(out / "log_history.jsonl")
    assert [r["step"] for r in rows if "loss" in r] == [1, 2]
    assert any("eval_cer" in r and "eval_mean_levenshtein" in r for r in rows)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["global_step"] == 2 and summary["peak_memory_mb"] > 0 and summary["train_seconds"] > 0
    assert (out / "tokenizer.json").is_file() and (out / "adapter_model.safetensors").is_file()
    _reload(out)


def test_messages_jsonl_input_and_its_prompt(tmp_path, tiny_model, frame_set16):
    from subtitle_vlm.io import read_frame_set, write_jsonl

    tiny_model("qwen2_vl")
    rows = [{"messages": [{"role": "user", "content": "<image>讀出字幕"},
                          {"role": "assistant", "content": fr.text}], "images": [str(fr.path)]}
            for fr in read_frame_set(frame_set16)[:4]]
    data = tmp_path / "train.jsonl"
    write_jsonl(data, rows)
    out = tmp_path / "run"
    _train(out, [str(data)], "tiny:qwen2_vl", "--max_steps", "1", "--save_strategy", "no")
    assert load_run_config(out)["prompt"] == "讀出字幕"


def test_interrupted_run_resumes_from_its_checkpoint(tmp_path, tiny_model, frame_set16, monkeypatch):
    import torch
    from safetensors.torch import load_file

    from subtitle_vlm.train import callbacks

    tiny_model("qwen2_vl")
    args = ["tiny:qwen2_vl", "--max_steps", "4", "--save_steps", "2", "--seed", "3", "--lora_dropout", "0"]
    _train(tmp_path / "straight", [str(frame_set16)], *args)

    original = callbacks.RunConfigCallback.on_save

    def crash_after_first_checkpoint(self, a, state, control, **kw):
        original(self, a, state, control, **kw)
        raise KeyboardInterrupt  # as if the job were killed right after checkpoint-2 was written

    out = tmp_path / "resumed"
    monkeypatch.setattr(callbacks.RunConfigCallback, "on_save", crash_after_first_checkpoint)
    with pytest.raises(KeyboardInterrupt):
        _train(out, [str(frame_set16)], *args)
    assert (out / "checkpoint-2").is_dir() and not (out / "summary.json").exists()
    monkeypatch.setattr(callbacks.RunConfigCallback, "on_save", original)

    _train(out, [str(frame_set16)], *args)  # the same command again
    summary = json.loads((out / "summary.json").read_text())
    assert summary["resumed_from"].endswith("checkpoint-2") and summary["global_step"] == 4
    steps = [r["step"] for r in read_jsonl(out / "log_history.jsonl") if "loss" in r]
    assert steps == [1, 2, 3, 4]
    a = load_file(tmp_path / "straight" / "adapter_model.safetensors")
    b = load_file(out / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)
