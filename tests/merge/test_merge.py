"""subtitle-vlm merge: base + adapter -> a directory that loads alone and reads like base + adapter."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from lora_run_fixture import PROMPT, make_run  # noqa: E402

from subtitle_vlm.io import InputError
from subtitle_vlm.merge.merge import MergeConfig, merge_adapter, sample_frame, sample_inputs
from subtitle_vlm.merge.merge_cli import main

FAMILIES = ["qwen2_vl", "qwen2_5_vl", "llava", "idefics3", "smolvlm"]


def _needs(family):
    if family == "smolvlm":
        pytest.importorskip("num2words", reason="transformers' SmolVLM processor needs num2words")


@pytest.mark.parametrize("family", FAMILIES)
def test_merged_dir_loads_alone_and_matches_base_plus_adapter(family, tmp_path):
    _needs(family)
    import torch
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText, AutoProcessor

    run = make_run(family, tmp_path / "run", crop="bottom=0.5",
                   modules_to_save=["multi_modal_projector"] if family == "llava" else None)
    out = tmp_path / "merged"
    rep = merge_adapter(MergeConfig(adapter=str(run), out=str(out)))
    assert rep.max_abs_diff_reload is not None and rep.max_abs_diff <= rep.tolerance
    assert rep.adapter_effect > 1000 * max(rep.max_abs_diff, 1e-9)  # the adapter really changes the logits

    # Independently of merge's own check: reload both sides and compare logits on a sample.
    proc = AutoProcessor.from_pretrained(out)
    merged = AutoModelForImageTextToText.from_pretrained(out).eval()
    rc = json.loads((run / "run_config.json").read_text())
    ref = PeftModel.from_pretrained(AutoModelForImageTextToText.from_pretrained(rc["base_model"]), run).eval()
    inputs = sample_inputs(proc, PROMPT, sample_frame((640, 360)))
    with torch.no_grad():
        a, b = merged(**inputs).logits, ref(**inputs).logits
    assert (a - b).abs().max() < 1e-4
    assert not any("lora" in k for k in merged.state_dict())

    new_rc = json.loads((out / "run_config.json").read_text())
    assert new_rc["kind"] == "merged" and new_rc["prompt"] == PROMPT and new_rc["crop"] == "bottom=0.5"
    assert new_rc["merged_from"]["adapter"] == str(run)
    for name in ("generation_config.json", "chat_template.jinja", "model.safetensors", "merge_report.json",
                 "summary.json"):
        assert (out / name).is_file(), name
    assert not list(tmp_path.glob(".merged.*"))  # no temp folder left behind


def test_refuses_to_overwrite_and_replaces_with_flag(tmp_path, capsys):
    run = make_run("qwen2_vl", tmp_path / "run")
    out = tmp_path / "merged"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="--overwrite"):
        main(["--adapter", str(run), "--out", str(out)])
    assert (out / "keep.txt").read_text() == "mine"
    assert main(["--adapter", str(run), "--out", str(out), "--overwrite"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["max_abs_diff"] <= printed["tolerance"]
    assert not (out / "keep.txt").exists() and (out / "model.safetensors").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged", "run"]  # old copy removed


def test_failed_check_writes_nothing(tmp_path):
    run = make_run("llava", tmp_path / "run")
    out = tmp_path / "merged"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    # A zero tolerance cannot be met (float rounding): the merge must fail and leave --out as it was.
    assert main(["--adapter", str(run), "--out", str(out), "--overwrite", "--tolerance", "0"]) == 1
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged", "run"]


def test_checkpoint_inside_run_and_bad_inputs(tmp_path, capsys):
    run = make_run("idefics3", tmp_path / "run")
    ckpt = run / "checkpoint-3"
    make_run("idefics3", ckpt, seed=1)
    (ckpt / "run_config.json").unlink()  # the base is found through the parent run's config
    rep = merge_adapter(MergeConfig(adapter=str(ckpt), out=str(tmp_path / "m3"), verify="memory"))
    assert rep.adapter == str(ckpt) and rep.max_abs_diff_reload is None and rep.max_abs_diff <= rep.tolerance
    with pytest.raises(InputError, match="overlaps"):
        merge_adapter(MergeConfig(adapter=str(run), out=str(run / "merged")))
    with pytest.raises(InputError, match="nothing to merge"):
        merge_adapter(MergeConfig(adapter=str(tmp_path / "m3"), out=str(tmp_path / "m4")))
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "m5")])
    assert "--adapter is required" in capsys.readouterr().err
