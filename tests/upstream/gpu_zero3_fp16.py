"""python tests/upstream/gpu_zero3_fp16.py [OUT_JSON]   (a CUDA machine with torch, transformers, peft, deepspeed)

Runs modification/minicpm/ds_config_zero3.json the way the MiniCPM-V recipe uses it on GPUs, which the CPU
tests cannot: fp16 with dynamic loss scaling, ZeRO-3 with optimizer and parameters offloaded to CPU,
DeepSpeed's CPU Adam, LoRA on the q/k projections picked by a regex like the recipe's, and a save that
gathers the sharded weights. A tiny Llama built from a config, 6 optimizer steps, single process. Prints one
JSON line (and writes it to OUT_JSON when given); exit status 0 only when every check held.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DS_CONFIG = REPO / "modification" / "minicpm" / "ds_config_zero3.json"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _warmup_is_ratio() -> bool:
    """transformers 5 takes a fraction in warmup_steps; 4.x has warmup_ratio instead."""
    import dataclasses

    from transformers import TrainingArguments

    return "warmup_ratio" not in {f.name for f in dataclasses.fields(TrainingArguments)}


def main() -> int:
    for k, v in (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0"), ("LOCAL_WORLD_SIZE", "1"),
                 ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", str(_free_port()))):
        os.environ.setdefault(k, v)
    result: dict = {"check": "ds_config_zero3 fp16 cpu-offload on GPU"}
    try:
        import deepspeed
        import peft
        import torch
        import transformers
    except ImportError as e:
        result.update(ok=False, error=f"missing package: {e.name}")
        print(json.dumps(result))
        return 2
    result["versions"] = {"torch": torch.__version__, "transformers": transformers.__version__,
                          "peft": peft.__version__, "deepspeed": deepspeed.__version__}
    if not torch.cuda.is_available():
        result.update(ok=False, error="no CUDA device")
        print(json.dumps(result))
        return 2
    result["device"] = torch.cuda.get_device_name(0)

    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM, Trainer, TrainingArguments

    from deepspeed_probe import record_deepspeed_choices

    seen: dict = {}
    record_deepspeed_choices(seen)

    out = Path(tempfile.mkdtemp(prefix="zero3_fp16_"))
    args = TrainingArguments(output_dir=str(out), fp16=True, per_device_train_batch_size=2,
                             gradient_accumulation_steps=2, max_steps=6, learning_rate=1e-3, weight_decay=0.1,
                             # the recipe's --warmup_ratio (DeepSpeed's WarmupLR refuses 0 warmup steps)
                             warmup_steps=0.2 if _warmup_is_ratio() else 2,
                             adam_beta2=0.95, logging_steps=1, save_strategy="no", report_to="none",
                             deepspeed=str(DS_CONFIG), gradient_checkpointing=True)
    # Made after TrainingArguments so ZeRO-3 partitions it at creation, as with from_pretrained in finetune.py.
    cfg = LlamaConfig(vocab_size=256, hidden_size=128, intermediate_size=256, num_hidden_layers=4,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128)
    model = LlamaForCausalLM(cfg)
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, task_type="CAUSAL_LM",
                                             target_modules=r".*layers\.\d+\.self_attn\.(q_proj|k_proj)"))
    model.enable_input_require_grads()
    g = torch.Generator().manual_seed(0)
    data = [{"input_ids": ids, "labels": ids, "attention_mask": torch.ones_like(ids)}
            for ids in (torch.randint(3, 256, (48,), generator=g) for _ in range(32))]
    trainer = Trainer(model=model, args=args, train_dataset=data)
    t0 = time.perf_counter()
    trainer.train()
    result["train_seconds"] = round(time.perf_counter() - t0, 2)
    losses = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    result["losses"] = [round(x, 4) for x in losses]
    result["ds_fp16"] = bool(trainer.model_wrapped.fp16_enabled())
    trainer.save_model(str(out / "final"))
    from safetensors.torch import load_file

    saved = load_file(str(out / "final" / "adapter_model.safetensors"))
    lora_b = {k: v for k, v in saved.items() if "lora_B" in k}
    result["lora_modules_saved"] = len(lora_b)
    result["lora_b_nonzero"] = all(v.numel() > 0 and bool(torch.count_nonzero(v)) for v in lora_b.values())
    result["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    result.update(seen)
    result["ok"] = bool(seen.get("cpu_adam") and seen.get("offload_optimizer") and seen.get("offload_param")
                        and result["ds_fp16"] and losses and all(math.isfinite(x) for x in losses)
                        and len(lora_b) == 8 and result["lora_b_nonzero"])
    line = json.dumps(result)
    print(line)
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(line + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
