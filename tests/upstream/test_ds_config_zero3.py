"""modification/minicpm/ds_config_zero3.json: DeepSpeed's own parser accepts it once the HF Trainer has filled
its "auto" values from the MiniCPM-V recipe's arguments, and it drives real ZeRO-3 training steps with
optimizer and parameters offloaded to CPU (DeepSpeed's CPU Adam) through the native trainer on a tiny model.

The training runs in a child process (DeepSpeed's distributed state must not leak into other tests), single
process, DS_ACCELERATOR=cpu. The first run on a machine JIT-builds DeepSpeed's shm op and cpu_adam (about two
minutes together), cached in TORCH_EXTENSIONS_DIR (default ~/.cache/torch_extensions).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("deepspeed")
pytestmark = [pytest.mark.slow, pytest.mark.deepspeed]

REPO = Path(__file__).resolve().parents[2]
DS_CONFIG = REPO / "modification" / "minicpm" / "ds_config_zero3.json"


def _filled(cfg: dict, tmp_path, **args) -> dict:
    from transformers import TrainingArguments
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    targs = TrainingArguments(output_dir=str(tmp_path), report_to="none", **args)
    hf = HfTrainerDeepSpeedConfig(cfg)
    hf.trainer_config_process(targs)
    # MiniCPM-Llama3-V-2_5's hidden size sets the "auto" bucket sizes.
    hf.trainer_config_finalize(targs, SimpleNamespace(config=SimpleNamespace(hidden_size=4096)),
                               num_training_steps=args.get("max_steps", 10))
    return hf.config


def test_passes_deepspeeds_parser_with_the_recipes_values(tmp_path):
    from deepspeed.runtime.config import DeepSpeedConfig

    raw = json.loads(DS_CONFIG.read_text())
    # finetune_lora.sh's seed run (fp16 needs a GPU to build TrainingArguments, so precision stays "auto";
    # transformers 5 spells --warmup_ratio 0.01 as a fractional warmup_steps).
    cfg = _filled(raw, tmp_path, per_device_train_batch_size=1, gradient_accumulation_steps=4,
                  learning_rate=1e-6, weight_decay=0.1, adam_beta2=0.95, warmup_steps=0.01, max_steps=500,
                  lr_scheduler_type="cosine")
    assert "auto" not in json.dumps(cfg)
    parsed = DeepSpeedConfig(cfg)
    z = parsed.zero_config
    assert z.stage == 3 and z.gather_16bit_weights_on_model_save
    assert z.offload_optimizer.device == "cpu" and z.offload_param.device == "cpu"
    assert parsed.train_micro_batch_size_per_gpu == 1 and parsed.gradient_accumulation_steps == 4
    assert parsed.train_batch_size == 4  # x world size; 8 on the recipe's 2 GPUs
    opt = parsed.optimizer_params
    assert parsed.optimizer_name == "adamw" and opt["lr"] == 1e-6 and opt["weight_decay"] == 0.1
    assert list(opt["betas"]) == [0.9, 0.95]
    assert parsed.scheduler_params["warmup_num_steps"] == math.ceil(0.01 * 500)
    # The parser rejects a broken variant, so passing above means something.
    bad = json.loads(json.dumps(cfg))
    bad["zero_optimization"]["offload_param"]["device"] = "floppy"
    with pytest.raises(Exception):
        DeepSpeedConfig(bad)


DRIVER = textwrap.dedent("""
    import json, sys
    from deepspeed_probe import record_deepspeed_choices
    from subtitle_vlm.train.train_cli import main
    out, ds, data, seen_path = sys.argv[1:5]
    seen = {}
    record_deepspeed_choices(seen)
    rc = main(["--model_name_or_path", "tiny:llava", "--train_data", data, "--output_dir", out,
                   "--max_steps", "3", "--save_steps", "3", "--logging_steps", "1",
                   "--per_device_train_batch_size", "1", "--gradient_accumulation_steps", "2",
                   "--learning_rate", "1e-3", "--lora_r", "4", "--deepspeed", ds])
    json.dump(seen, open(seen_path, "w"))
    sys.exit(rc)
""")


def test_drives_zero3_cpu_offload_training_through_the_native_trainer(tmp_path, single_process_env):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    from subtitle_vlm.synth import SynthConfig, run_synth
    from subtitle_vlm.train.run_config import resolve_model_dir
    from subtitle_vlm.train.tiny import resolve_model_name

    frames = tmp_path / "frames"
    run_synth(SynthConfig(out=str(frames), count=4, seed=3, style="clean", size="320x180", p_empty=0.0,
                          max_len=8, progress=False))
    # Build the tiny model here, outside DeepSpeed: one made while ZeRO-3 is set up is created sharded.
    cache = tmp_path / "tiny_cache"
    old = os.environ.get("SUBTITLE_VLM_CACHE")
    os.environ["SUBTITLE_VLM_CACHE"] = str(cache)
    try:
        resolve_model_name("tiny:llava")
    finally:
        if old is None:
            os.environ.pop("SUBTITLE_VLM_CACHE")
        else:
            os.environ["SUBTITLE_VLM_CACHE"] = old
    out = tmp_path / "run"
    # The child imports deepspeed_probe from this folder.
    pythonpath = os.pathsep.join(p for p in (str(Path(__file__).parent), os.environ.get("PYTHONPATH")) if p)
    env = single_process_env(SUBTITLE_VLM_CACHE=str(cache), PYTHONPATH=pythonpath)
    seen_path = tmp_path / "seen.json"
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(out), str(DS_CONFIG), str(frames), str(seen_path)],
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    # ZeRO-3 ran with both offloads and DeepSpeed's CPU Adam (the shipped optimizer section).
    assert json.loads(seen_path.read_text()) == {"cpu_adam": True, "offload_optimizer": True, "offload_param": True}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["global_step"] == 3 and summary["deepspeed"]
    base, adapter, cfg = resolve_model_dir(out)
    assert cfg["training"]["deepspeed"] and Path(cfg["training"]["deepspeed"]).name == "ds_config_zero3.json"
    env_model = AutoModelForImageTextToText.from_pretrained(base)
    model = PeftModel.from_pretrained(env_model, adapter)
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    # Gathered on save (stage3_gather_16bit_weights_on_model_save): trained, not empty shards. (DeepSpeed's
    # WarmupLR starts at lr 0, so the first step leaves LoRA B at zero; the third moves it.)
    assert lora_b and all(p.numel() > 0 and torch.count_nonzero(p) for p in lora_b), (out / "log_history.jsonl").read_text()
