"""The commands: `subtitle-vlm synth`, `subtitle-vlm preview`, and datasets/scripts/generate_synth_images.sh."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from subtitle_vlm.cli import main as cli_main
from subtitle_vlm.io import read_frame_set, read_jsonl

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "datasets" / "scripts" / "generate_synth_images.sh"


def test_synth_command_with_config_file_and_flags(tmp_path, sentence_file, bg_dir, capsys):
    cfg_file = tmp_path / "synth.yaml"
    cfg_file.write_text(f"count: 3\nsize: 320x180\nstyle: hard\nsentences: {sentence_file}\n", encoding="utf-8")
    out = tmp_path / "frames"
    rc = cli_main(["synth", "--config", str(cfg_file), "--out", str(out), "--count", "4", "--p-empty", "0",
                   "--backgrounds", str(bg_dir), "--progress", "false"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "synth: 4 frames" in err and "fonts:" in err
    frames = read_frame_set(out)
    assert [f.id for f in frames] == ["frame_000001", "frame_000002", "frame_000003", "frame_000004"]
    assert all(f.text for f in frames)
    saved = json.loads((out / "synth_config.json").read_text(encoding="utf-8"))
    assert saved["style"] == "hard" and saved["size"] == "320x180" and saved["count"] == 4


def test_unknown_option_in_config_file_is_an_error(tmp_path, capsys):
    cfg_file = tmp_path / "synth.yaml"
    cfg_file.write_text("cont: 3\n", encoding="utf-8")
    rc = cli_main(["synth", "--config", str(cfg_file), "--out", str(tmp_path / "o")])
    assert rc == 2 and "unknown option(s) cont" in capsys.readouterr().err


def test_preview_writes_a_labelled_grid(tmp_path, small_cfg):
    from subtitle_vlm.synth import run_synth

    cfg = small_cfg(count=5, size="640x360", p_empty=0.0)
    run_synth(cfg)
    out = tmp_path / "grid.png"
    assert cli_main(["preview", "--input", cfg.out, "--out", str(out), "--count", "4", "--cols", "2",
                     "--thumb-width", "200", "--boxes"]) == 0
    with Image.open(out) as im:
        w, h = im.size
        arr = np.asarray(im.convert("RGB"))
    assert w == 2 * 208 + 8 and h > 2 * 112  # 2 columns of 200 px thumbs, 2 rows with label space
    label_band = arr[113:150, 8:416]  # under the first row: light label text on the dark ground
    assert (label_band.min(axis=2) > 200).sum() > 30
    red = (arr[..., 0] > 200) & (arr[..., 1] < 60) & (arr[..., 2] < 60)
    assert red.sum() > 50  # --boxes drew the subtitle boxes


def test_preview_of_a_missing_folder_fails_clearly(tmp_path, capsys):
    assert cli_main(["preview", "--input", str(tmp_path / "nope"), "--out", str(tmp_path / "g.png")]) == 2
    assert "not a folder" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_script_takes_env_vars_and_flags_from_any_cwd(tmp_path, sentence_file, bg_dir):
    env = dict(os.environ, SYNTH_COUNT="2", SYNTH_SIZE="320x180", SYNTH_STYLE="clean", SYNTH_WORKERS="1",
               SYNTH_SENTENCES=str(sentence_file), SYNTH_BACKGROUNDS=str(bg_dir), SYNTH_OUT=str(tmp_path / "env"))
    r = subprocess.run(["bash", str(SCRIPT), "--progress", "false"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    recs = read_jsonl(tmp_path / "env" / "metadata.jsonl")
    assert len(recs) == 2 and all(rec["style"] == "clean" and rec["size"] == [320, 180] for rec in recs)
    # flags override the variables
    r = subprocess.run(["bash", str(SCRIPT), "--out", "flagged", "--count", "3", "--style", "hard", "--progress",
                        "false"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    recs = read_jsonl(tmp_path / "flagged" / "metadata.jsonl")
    assert len(recs) == 3 and recs[0]["style"] == "hard"
    r = subprocess.run(["bash", str(SCRIPT), "--size", "bad"], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and "WIDTHxHEIGHT" in r.stderr
