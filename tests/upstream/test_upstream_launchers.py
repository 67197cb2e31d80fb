"""modification/minicpm/finetune_lora.sh and modification/tinyllava/custom_finetune.sh: the --dry-run command
carries every argument UPSTREAM.md lists with the seed run's values, absolute paths, and overrides from
environment variables and flags; a real run goes to the clone with PYTHONUTF8=1 and writes the run config."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MINICPM = REPO / "modification" / "minicpm" / "finetune_lora.sh"
TINY = REPO / "modification" / "tinyllava" / "custom_finetune.sh"
QK_REGEX = r"llm\..*layers\.\d+\.self_attn\.(q_proj|k_proj)"
NO_VALUE = {"--do_train", "--do_eval"}

# UPSTREAM.md: finetune/finetune_lora.sh's arguments; values are the seed run's where it states them.
MINICPM_ARGS = {
    "--model_name_or_path": "openbmb/MiniCPM-Llama3-V-2_5", "--llm_type": "llama3", "--data_path": None,
    "--eval_data_path": None, "--remove_unused_columns": "false", "--label_names": "labels",
    "--prediction_loss_only": "false", "--fp16": "true", "--fp16_full_eval": "true", "--do_train": True,
    "--do_eval": True, "--tune_vision": "true", "--tune_llm": "false", "--use_lora": "true",
    "--lora_target_modules": QK_REGEX, "--model_max_length": "2048", "--max_slice_nums": "9",
    "--max_steps": "500", "--eval_steps": None, "--output_dir": None, "--logging_dir": None,
    "--logging_strategy": "steps", "--per_device_train_batch_size": "1", "--per_device_eval_batch_size": None,
    "--gradient_accumulation_steps": "4", "--evaluation_strategy": "steps", "--save_strategy": "steps",
    "--save_steps": None, "--save_total_limit": None, "--learning_rate": "1e-6", "--weight_decay": "0.1",
    "--adam_beta2": "0.95", "--warmup_ratio": "0.01", "--lr_scheduler_type": "cosine", "--logging_steps": "1",
    "--gradient_checkpointing": "true", "--deepspeed": None, "--report_to": "tensorboard",
}
# UPSTREAM.md: scripts/train/custom_finetune.sh's arguments; the seed run: batch 4, total 4, 10 epochs.
TINY_ARGS = {
    "--deepspeed": None, "--data_path": None, "--image_folder": None, "--is_multimodal": "True",
    "--conv_version": "phi", "--mm_vision_select_layer": "-2", "--image_aspect_ratio": "square", "--fp16": "True",
    "--training_recipe": "lora", "--tune_type_llm": "lora", "--tune_type_vision_tower": "frozen",
    "--tune_vision_tower_from_layer": "0", "--tune_type_connector": "full", "--lora_r": "128",
    "--lora_alpha": "256", "--group_by_modality_length": "False",
    "--pretrained_model_path": "tinyllava/TinyLLaVA-Phi-2-SigLIP-3.1B", "--output_dir": None,
    "--num_train_epochs": "10", "--per_device_train_batch_size": "4", "--gradient_accumulation_steps": "1",
    "--evaluation_strategy": "no", "--save_strategy": "steps", "--save_steps": None, "--save_total_limit": "1",
    "--learning_rate": "1e-4", "--weight_decay": "0.", "--warmup_ratio": "0.03", "--lr_scheduler_type": "cosine",
    "--logging_steps": "1", "--tf32": "False", "--model_max_length": "3072", "--gradient_checkpointing": "True",
    "--dataloader_num_workers": "8", "--lazy_preprocess": "True", "--report_to": "tensorboard",
    "--tokenizer_use_fast": "False", "--run_name": None,
}
# Settings set in the environment of the test process must not leak into the defaults.
_CLEAN = {k: v for k, v in os.environ.items()
          if k not in {"MODEL", "DATA", "GPUS", "LR", "OUTPUT_DIR", "DATA_DIR", "MAX_STEPS", "EPOCHS", "DEEPSPEED"}}


def dry_run(script: Path, *args, cwd=None, **env) -> tuple[list[str], dict[str, object], list[str]]:
    """(prefix tokens up to the script name, {flag: value}, launcher tokens) of the printed command."""
    r = subprocess.run(["bash", str(script), "--dry-run", *args], cwd=cwd or REPO, capture_output=True, text=True,
                       env={**_CLEAN, **env}, timeout=30)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1, r.stdout
    tokens = shlex.split(lines[0])
    entry = next(i for i, t in enumerate(tokens) if t.endswith((".py",)))
    flags: dict[str, object] = {}
    rest = tokens[entry + 1:]
    i = 0
    while i < len(rest):
        t = rest[i]
        assert t.startswith("--"), f"stray token {t!r} in {rest}"
        if t in NO_VALUE:
            flags[t] = True
            i += 1
        else:
            assert t not in flags, f"{t} given twice"
            flags[t] = rest[i + 1]
            i += 2
    return tokens[:entry + 1], flags, tokens


def _check_listed(flags: dict, expected: dict) -> None:
    missing = [k for k in expected if k not in flags]
    assert not missing, f"arguments UPSTREAM.md lists are missing: {missing}"
    wrong = {k: (flags[k], v) for k, v in expected.items() if v is not None and flags[k] != v}
    assert not wrong, f"(got, expected): {wrong}"


def test_minicpm_defaults_are_the_seed_run():
    prefix, flags, _ = dry_run(MINICPM)
    _check_listed(flags, MINICPM_ARGS)
    assert prefix[:4] == ["cd", str(REPO / "third_party" / "MiniCPM-V" / "finetune"), "&&", "PYTHONUTF8=1"]
    launcher = prefix[4:]
    assert launcher[0] == str(REPO / ".venv-minicpmv" / "bin" / "torchrun")
    assert launcher[launcher.index("--nproc_per_node") + 1] == "2"
    assert launcher[-1] == "finetune.py"
    # Two GPUs x batch 1 x grad-acc 4 = 8 samples per step; ZeRO-3 with CPU offload from our config.
    assert flags["--deepspeed"] == str(REPO / "modification" / "minicpm" / "ds_config_zero3.json")
    cfg = json.loads(Path(flags["--deepspeed"]).read_text())
    assert cfg["zero_optimization"]["stage"] == 3
    assert cfg["zero_optimization"]["offload_optimizer"]["device"] == "cpu"
    assert cfg["zero_optimization"]["offload_param"]["device"] == "cpu"
    # bf16 off when fp16 is on (finetune.py picks the compute dtype from them).
    assert flags["--bf16"] == "false"
    assert flags["--data_path"] == str(REPO / "data" / "json" / "minicpmv" / "train.json")
    assert flags["--eval_data_path"] == str(REPO / "data" / "json" / "minicpmv" / "val.json")
    for k in ("--data_path", "--eval_data_path", "--output_dir", "--logging_dir", "--deepspeed"):
        assert os.path.isabs(flags[k]), k
    # LoRA hyper-parameters are finetune.py's defaults, passed explicitly.
    assert (flags["--lora_r"], flags["--lora_alpha"], flags["--lora_dropout"]) == ("64", "64", "0.05")
    # The regex must reach finetune.py intact (backslashes and the alternation).
    import re

    rx = re.compile(flags["--lora_target_modules"])
    assert rx.fullmatch("llm.model.layers.31.self_attn.k_proj")
    assert not rx.fullmatch("llm.model.layers.3.self_attn.v_proj")
    assert not rx.fullmatch("vpm.encoder.layers.0.self_attn.q_proj")


def test_minicpm_overrides_env_and_flags(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    _, flags, tokens = dry_run(MINICPM, "--max-steps", "7", "--lr=2e-5", "--model", "model", "--precision", "bf16",
                               "--", "--seed", "3", cwd=tmp_path, MAX_STEPS="99", GPUS="4", DATA_DIR="d",
                               GRAD_ACC="2", LR="1")
    assert flags["--max_steps"] == "7"                      # the flag wins over the environment
    assert flags["--learning_rate"] == "2e-5"
    assert flags["--gradient_accumulation_steps"] == "2"   # environment over the default
    assert tokens[tokens.index("--nproc_per_node") + 1] == "4"
    assert flags["--model_name_or_path"] == str(model)     # a local model folder becomes absolute
    assert flags["--data_path"] == str(tmp_path / "d" / "minicpmv" / "train.json")
    assert (flags["--bf16"], flags["--fp16"], flags["--bf16_full_eval"]) == ("true", "false", "true")
    assert flags["--seed"] == "3"                           # extra finetune.py arguments after --


def test_minicpm_refuses_bad_settings():
    for args, env in ((["--no-such-setting", "1"], {}), ([], {"PRECISION": "fp8"}),
                      ([], {"TUNE_LLM": "true"}), (["--max-steps"], {})):
        r = subprocess.run(["bash", str(MINICPM), "--dry-run", *args], capture_output=True, text=True,
                           env={**_CLEAN, **env}, timeout=30)
        assert r.returncode == 2, (args, env, r.stdout)
        assert "finetune_lora.sh:" in r.stderr


def test_tinyllava_defaults_are_the_seed_run(tmp_path):
    prefix, flags, tokens = dry_run(TINY, DATA_DIR=str(tmp_path / "none"))
    _check_listed(flags, TINY_ARGS)
    clone = REPO / "third_party" / "TinyLLaVA_Factory"
    assert prefix[:4] == ["cd", str(clone), "&&", "PYTHONUTF8=1"]
    assert prefix[4] == str(REPO / ".venv-tinyllava" / "bin" / "deepspeed")
    assert prefix[prefix.index("--include") + 1] == "localhost:0"
    assert prefix[prefix.index("--master_port") + 1] == "29501"
    assert prefix[-1] == "tinyllava/train/custom_finetune.py"
    assert flags["--deepspeed"] == str(clone / "scripts" / "zero2.json")
    # No info.json beside the data: the frame set the exporter reads by default.
    assert flags["--image_folder"] == str(REPO / "data" / "synth")
    for k in ("--data_path", "--image_folder", "--output_dir", "--deepspeed"):
        assert os.path.isabs(flags[k]), k


def test_tinyllava_image_folder_from_info_json_and_overrides(tmp_path):
    data = tmp_path / "json" / "tinyllava"
    data.mkdir(parents=True)
    (data / "train.json").write_text("[]")
    (data / "info.json").write_text(json.dumps({"image_folder": str(tmp_path / "frames")}))
    _, flags, tokens = dry_run(TINY, "--epochs", "1", "--gpus", "0,1", "--lora-r", "8", cwd=tmp_path,
                               DATA_DIR="json", LR="5e-5", EPOCHS="3")
    assert flags["--image_folder"] == str(tmp_path / "frames")
    assert flags["--data_path"] == str(data / "train.json")
    assert flags["--num_train_epochs"] == "1" and flags["--learning_rate"] == "5e-5" and flags["--lora_r"] == "8"
    assert tokens[tokens.index("--include") + 1] == "localhost:0,1"
    _, flags2, _ = dry_run(TINY, "--image-folder", "imgs", cwd=tmp_path, DATA_DIR="json")
    assert flags2["--image_folder"] == str(tmp_path / "imgs")


def _exe(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _recording_venv(venv: Path, launcher: str, record: Path) -> None:
    """A stand-in for an upstream venv: its python is ours, and ``launcher`` (torchrun, deepspeed) only
    writes its working folder, PYTHONUTF8 and arguments to ``record`` as JSON."""
    venv_bin = venv / "bin"
    venv_bin.mkdir(parents=True)
    os.symlink(sys.executable, venv_bin / "python")
    _exe(venv_bin / launcher, "#!/usr/bin/env bash\n"
         f"{shlex.quote(sys.executable)} -c 'import json,os,sys; json.dump({{\"cwd\": os.getcwd(), "
         f"\"utf8\": os.environ.get(\"PYTHONUTF8\"), \"argv\": sys.argv[1:]}}, open(sys.argv[1], \"w\"))' "
         f"{shlex.quote(str(record))} \"$@\"\n")


def _fake_project(tmp_path: Path) -> Path:
    """A project root (markers only) with a MiniCPM-V-shaped clone holding a copy of the launcher."""
    root = tmp_path / "proj"
    (root / "src" / "subtitle_vlm").mkdir(parents=True)
    (root / "setup_envs.sh").write_text("")
    ft = root / "third_party" / "MiniCPM-V" / "finetune"
    ft.mkdir(parents=True)
    (ft / "finetune.py").write_text("")
    shutil.copy2(MINICPM, ft / "finetune_lora.sh")
    shutil.copy2(REPO / "modification" / "minicpm" / "ds_config_zero3.json", ft / "ds_config_zero3.json")
    return root


def test_minicpm_from_inside_the_clone_uses_that_clone(tmp_path):
    root = _fake_project(tmp_path)
    ft = root / "third_party" / "MiniCPM-V" / "finetune"
    prefix, flags, _ = dry_run(ft / "finetune_lora.sh", cwd=tmp_path)
    assert prefix[1] == str(ft)
    assert flags["--deepspeed"] == str(ft / "ds_config_zero3.json")
    assert flags["--data_path"] == str(root / "data" / "json" / "minicpmv" / "train.json")
    assert prefix[4] == str(root / ".venv-minicpmv" / "bin" / "torchrun")


def test_minicpm_real_run_without_setup_says_what_to_do(tmp_path):
    r = subprocess.run(["bash", str(MINICPM)], capture_output=True, text=True, timeout=30,
                       env={**_CLEAN, "MINICPMV_DIR": str(tmp_path / "nowhere")})
    assert r.returncode == 1 and "setup_envs.sh --minicpmv" in r.stderr


def test_minicpm_real_run_goes_to_finetune_with_utf8_and_writes_run_config(tmp_path):
    root = _fake_project(tmp_path)
    ft = root / "third_party" / "MiniCPM-V" / "finetune"
    record = tmp_path / "torchrun.json"
    _recording_venv(root / ".venv-minicpmv", "torchrun", record)
    data = root / "data" / "json" / "minicpmv"
    data.mkdir(parents=True)
    sample = [{"id": "a", "image": "/x/a.jpg", "conversations": [
        {"role": "user", "content": "<image>\n請讀字幕"}, {"role": "assistant", "content": "你好"}]}]
    for name in ("train.json", "val.json"):
        (data / name).write_text(json.dumps(sample, ensure_ascii=False), encoding="utf-8")
    env = {**_CLEAN, "PYTHONPATH": str(REPO / "src"), "MAX_STEPS": "2"}
    r = subprocess.run(["bash", str(ft / "finetune_lora.sh")], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    got = json.loads(record.read_text())
    assert got["cwd"] == str(ft) and got["utf8"] == "1"
    assert got["argv"][got["argv"].index("--max_steps") + 1] == "2"
    run_cfg = json.loads((root / "runs" / "minicpmv_lora" / "run_config.json").read_text(encoding="utf-8"))
    assert run_cfg["prompt"] == "請讀字幕"
    assert run_cfg["base_model"] == "openbmb/MiniCPM-Llama3-V-2_5" and run_cfg["recipe"] == "minicpmv"
    assert run_cfg["training"]["max_steps"] == 2 and run_cfg["lora"]["target_modules"] == QK_REGEX
    assert run_cfg["data"]["train"] == [str(data / "train.json")]


def test_tinyllava_real_run_goes_to_the_clone_and_writes_run_config(tmp_path):
    root = tmp_path / "proj"
    (root / "src" / "subtitle_vlm").mkdir(parents=True)
    (root / "setup_envs.sh").write_text("")
    clone = root / "third_party" / "TinyLLaVA_Factory"
    (clone / "tinyllava" / "train").mkdir(parents=True)
    (clone / "tinyllava" / "train" / "custom_finetune.py").write_text("")
    (clone / "scripts" / "train").mkdir(parents=True)
    (clone / "scripts" / "zero2.json").write_text("{}")
    shutil.copy2(TINY, clone / "scripts" / "train" / "custom_finetune.sh")
    record = tmp_path / "deepspeed.json"
    _recording_venv(root / ".venv-tinyllava", "deepspeed", record)
    data = root / "data" / "json" / "tinyllava"
    data.mkdir(parents=True)
    frames = root / "data" / "synth"
    frames.mkdir(parents=True)
    sample = [{"id": "a", "image": "a.jpg", "conversations": [
        {"from": "human", "value": "<image>\n讀字幕"}, {"from": "gpt", "value": "你好"}]}]
    (data / "train.json").write_text(json.dumps(sample, ensure_ascii=False), encoding="utf-8")
    (data / "info.json").write_text(json.dumps({"image_folder": str(frames)}), encoding="utf-8")
    env = {**_CLEAN, "PYTHONPATH": str(REPO / "src")}
    r = subprocess.run(["bash", str(clone / "scripts" / "train" / "custom_finetune.sh"), "--epochs", "1"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    got = json.loads(record.read_text())
    assert got["cwd"] == str(clone) and got["utf8"] == "1"
    argv = got["argv"]
    assert argv[argv.index("--deepspeed") + 1] == str(clone / "scripts" / "zero2.json")
    assert argv[argv.index("--image_folder") + 1] == str(frames)
    run_cfg = json.loads((root / "runs" / "tinyllava_lora" / "run_config.json").read_text(encoding="utf-8"))
    assert run_cfg["prompt"] == "讀字幕" and run_cfg["recipe"] == "tinyllava"
    assert run_cfg["lora"] == {"r": 128, "alpha": 256} and run_cfg["training"]["num_train_epochs"] == 1
    assert run_cfg["data"]["image_folder"] == str(frames)
