"""Run directories: finding the base model, the adapter and the run config from any of them."""

from __future__ import annotations

import json

import pytest

from subtitle_vlm.io import InputError
from subtitle_vlm.train.run_config import load_run_config, resolve_model_dir, save_run_config


def test_adapter_dir_names_its_base_through_run_config(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    run = tmp_path / "run"
    run.mkdir()
    (run / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "elsewhere"}))
    save_run_config(run, {"kind": "adapter", "base_model": str(base), "prompt": "讀", "crop": "bottom=0.3"})
    b, a, cfg = resolve_model_dir(run)
    assert (b, a) == (str(base), str(run))
    assert cfg["prompt"] == "讀" and cfg["crop"] == "bottom=0.3" and cfg["format"].startswith("subtitle-vlm-run/")


def test_checkpoint_reads_parent_run_config_and_peft_fallback(tmp_path):
    run = tmp_path / "run"
    ckpt = run / "checkpoint-5"
    ckpt.mkdir(parents=True)
    (ckpt / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "org/model"}))
    b, a, cfg = resolve_model_dir(ckpt)
    assert (b, a, cfg) == ("org/model", str(ckpt), {})
    save_run_config(run, {"base_model": "org/other", "crop": "none"})
    assert resolve_model_dir(ckpt)[0] == "org/other"


def test_merged_dir_and_hub_id(tmp_path):
    merged = tmp_path / "merged"
    merged.mkdir()
    save_run_config(merged, {"kind": "merged", "prompt": "p"})
    assert resolve_model_dir(merged) == (str(merged), None, load_run_config(merged))
    assert resolve_model_dir("org/model") == ("org/model", None, {})


def test_bad_run_config_is_named(tmp_path):
    (tmp_path / "run_config.json").write_text("{oops")
    with pytest.raises(InputError, match="run_config.json"):
        load_run_config(tmp_path)
    (tmp_path / "run_config.json").write_text("{}")
    (tmp_path / "adapter_config.json").write_text("{}")
    with pytest.raises(InputError, match="base model"):
        resolve_model_dir(tmp_path)
