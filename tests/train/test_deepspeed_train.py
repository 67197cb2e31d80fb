"""The shipped DeepSpeed configs: valid for DeepSpeed's own parser, and LoRA training runs under each on CPU.

All training here happens in one child process (DeepSpeed sets up torch.distributed and global state that
must not leak into other tests). It runs single-process with DS_ACCELERATOR=cpu; the first run on a machine
JIT-builds DeepSpeed's shm communication op once (cached in ~/.cache/torch_extensions). The offload config
is run with torch's AdamW (zero_force_ds_cpu_optimizer false) instead of DeepSpeed's CPU Adam, whose JIT
build would add more than a minute; everything else is the shipped file.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import pytest

from subtitle_vlm.io import read_jsonl
from subtitle_vlm.train.train_config import DEEPSPEED_DIR, DEEPSPEED_SHORT_NAMES

pytest.importorskip("deepspeed")
pytestmark = [pytest.mark.slow, pytest.mark.deepspeed]


def _filled(name: str, model, tmp_path):
    """A shipped config with its "auto" values filled the way the HF Trainer fills them."""
    from transformers import TrainingArguments
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    cfg = json.loads((DEEPSPEED_DIR / f"{name}.json").read_text())
    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=2, learning_rate=1e-4,
                             report_to="none")
    hf = HfTrainerDeepSpeedConfig(cfg)
    hf.trainer_config_process(args)
    hf.trainer_config_finalize(args, model, num_training_steps=10)
    return hf.config


@pytest.mark.parametrize("name", DEEPSPEED_SHORT_NAMES)
def test_shipped_config_passes_deepspeeds_parser(name, tiny_model, tmp_path):
    from deepspeed.runtime.config import DeepSpeedConfig
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(tiny_model("llava"))
    cfg = _filled(name, model, tmp_path)
    assert "auto" not in json.dumps(cfg)
    parsed = DeepSpeedConfig(cfg)
    stage = parsed.zero_config.stage
    assert stage == (2 if name == "zero2" else 3)
    if name.startswith("zero3"):
        assert parsed.zero_config.gather_16bit_weights_on_model_save
    if name == "zero3_offload":
        assert parsed.zero_config.offload_optimizer.device == "cpu"
        assert parsed.zero_config.offload_param.device == "cpu"
    # The parser does reject a broken config (so the passes above mean something).
    bad = json.loads(json.dumps(cfg))
    bad["zero_optimization"]["offload_param"] = {"device": "floppy"}
    with pytest.raises(Exception):
        DeepSpeedConfig(bad)


DRIVER = textwrap.dedent("""
    import json, sys
    from transformers.integrations.deepspeed import unset_hf_deepspeed_config
    from subtitle_vlm.train.train_cli import main
    runs = json.loads(sys.argv[1])
    for out, ds, data in runs:
        rc = main(["--model_name_or_path", "tiny:llava", "--train_data", data, "--output_dir", out,
                   "--max_steps", "3", "--save_steps", "3", "--logging_steps", "1",
                   "--per_device_train_batch_size", "2", "--learning_rate", "1e-3", "--lora_r", "4",
                   "--train_projector", "--deepspeed", ds])
        assert rc == 0
        unset_hf_deepspeed_config()
""")


@pytest.fixture(scope="module")
def deepspeed_runs(tmp_path_factory, tiny_model, frame_set16, single_process_env):
    tiny_model("llava")
    root = tmp_path_factory.mktemp("ds_runs")
    offload = json.loads((DEEPSPEED_DIR / "zero3_offload.json").read_text())
    offload.pop("optimizer")
    offload["zero_force_ds_cpu_optimizer"] = False
    (root / "zero3_offload_torch_adamw.json").write_text(json.dumps(offload))
    configs = {"zero2": "zero2", "zero3": "zero3", "zero3_offload": str(root / "zero3_offload_torch_adamw.json")}
    runs = [[str(root / name), ds, str(frame_set16)] for name, ds in configs.items()]
    env = single_process_env()
    proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(runs)], env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return {name: root / name for name in configs}


@pytest.mark.parametrize("name", DEEPSPEED_SHORT_NAMES)
def test_lora_training_under_config_and_adapter_reloads(deepspeed_runs, name):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    from subtitle_vlm.train.run_config import resolve_model_dir

    out = deepspeed_runs[name]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["global_step"] == 3 and summary["deepspeed"]
    losses = [r["loss"] for r in read_jsonl(out / "log_history.jsonl") if "loss" in r]
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)
    base, adapter, cfg = resolve_model_dir(out)
    assert cfg["training"]["deepspeed"]
    model = PeftModel.from_pretrained(AutoModelForImageTextToText.from_pretrained(base), adapter)
    lora_b = {n: p for n, p in model.named_parameters() if "lora_B" in n}
    assert len(lora_b) == 14 and all(p.shape[1] == 4 for p in lora_b.values())
    # Trained, gathered weights (ZeRO-3 saves empty shards unless it gathers them first).
    assert all(torch.count_nonzero(p) for p in lora_b.values())
    # The fully trained projector came back whole and differs from the base model's.
    base_proj = dict(AutoModelForImageTextToText.from_pretrained(base).model.multi_modal_projector.named_parameters())
    trained = {n.split("modules_to_save.default.")[1]: p for n, p in model.named_parameters()
               if "multi_modal_projector.modules_to_save" in n}
    assert trained.keys() == base_proj.keys()
    assert any(not torch.equal(trained[k], base_proj[k]) for k in trained)
