"""The launchers' settings for a machine without GPUs (what the upstream e2e test uses), by --dry-run:
fp32, training without DeepSpeed, and for TinyLLaVA torchrun with two processes."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MINICPM = REPO / "modification" / "minicpm" / "finetune_lora.sh"
TINY = REPO / "modification" / "tinyllava" / "custom_finetune.sh"


def _dry(script: Path, *args) -> tuple[int, list[str], str]:
    r = subprocess.run(["bash", str(script), "--dry-run", *args], capture_output=True, text=True, timeout=60)
    tokens = shlex.split(r.stdout.split("PYTHONUTF8=1", 1)[1]) if r.returncode == 0 else []
    return r.returncode, tokens, r.stderr


def _value(tokens: list[str], flag: str) -> str:
    return tokens[tokens.index(flag) + 1]


def test_minicpmv_fp32_without_deepspeed():
    rc, tokens, err = _dry(MINICPM, "--gpus", "1", "--precision", "fp32", "--deepspeed", "none")
    assert rc == 0, err
    assert _value(tokens, "--nproc_per_node") == "1"
    for flag in ("--fp16", "--fp16_full_eval", "--bf16", "--bf16_full_eval"):
        assert _value(tokens, flag) == "false"
    assert "--deepspeed" not in tokens
    rc, tokens, _ = _dry(MINICPM)  # the default keeps the recipe's ZeRO-3 config
    assert _value(tokens, "--deepspeed") == str(REPO / "modification" / "minicpm" / "ds_config_zero3.json")


def test_tinyllava_torchrun_two_processes_without_deepspeed():
    rc, tokens, err = _dry(TINY, "--launcher", "torchrun", "--gpus", "0,1", "--precision", "fp32", "--deepspeed", "none")
    assert rc == 0, err
    assert tokens[0] == str(REPO / ".venv-tinyllava" / "bin" / "torchrun")
    assert _value(tokens, "--nproc_per_node") == "2" and "--include" not in tokens
    assert _value(tokens, "--fp16") == "False" and _value(tokens, "--bf16") == "False"
    assert "--deepspeed" not in tokens and _value(tokens, "--ddp_find_unused_parameters") == "False"
    rc, tokens, _ = _dry(TINY)  # the default is upstream's deepspeed launcher and ZeRO-2
    assert tokens[0].endswith("/deepspeed") and _value(tokens, "--include") == "localhost:0"
    assert _value(tokens, "--deepspeed").endswith("scripts/zero2.json") and "--ddp_find_unused_parameters" not in tokens


def test_tinyllava_refuses_one_process_without_deepspeed_and_unknown_launchers():
    rc, _, err = _dry(TINY, "--launcher", "torchrun", "--gpus", "0", "--deepspeed", "none")
    assert rc == 2 and "needs 2 or more processes (GPUS=0,1)" in err
    rc, _, err = _dry(TINY, "--launcher", "mpirun")
    assert rc == 2 and "LAUNCHER must be deepspeed or torchrun" in err
    rc, _, err = _dry(MINICPM, "--precision", "fp8")
    assert rc == 2 and "fp16, bf16 or fp32" in err
