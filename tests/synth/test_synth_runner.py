"""run_synth: same bytes for any worker count, resume after Ctrl-C or a crash, settings guard."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from subtitle_vlm.io import InputError, read_jsonl
from subtitle_vlm.synth import run_synth
from subtitle_vlm.synth import runner as runner_mod


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.suffix in (".jpg", ".png") or p.name == "metadata.jsonl"}


def test_one_and_two_workers_make_identical_bytes(tmp_path, small_cfg):
    s1 = run_synth(small_cfg(out=str(tmp_path / "w1"), count=8, workers=1, style="hard"))
    s2 = run_synth(small_cfg(out=str(tmp_path / "w2"), count=8, workers=2, style="hard"))
    assert s1["made"] == s2["made"] == 8
    a, b = _files(tmp_path / "w1"), _files(tmp_path / "w2")
    assert len(a) == 9 and a.keys() == b.keys()
    assert a == b
    recs = read_jsonl(tmp_path / "w1" / "metadata.jsonl")
    assert [r["file_name"] for r in recs] == [f"frame_{i:06d}.jpg" for i in range(1, 9)]
    assert len({r["seed"] for r in recs}) == 8


def test_other_seed_gives_other_frames(tmp_path, small_cfg):
    run_synth(small_cfg(out=str(tmp_path / "a"), count=3))
    run_synth(small_cfg(out=str(tmp_path / "b"), count=3, seed=4))
    assert _files(tmp_path / "a")["frame_000001.jpg"] != _files(tmp_path / "b")["frame_000001.jpg"]


def test_interrupted_run_resumes_without_duplicates(tmp_path, small_cfg, monkeypatch):
    ref_dir = tmp_path / "ref"
    run_synth(small_cfg(out=str(ref_dir), count=10))
    out = tmp_path / "out"
    real = runner_mod.make_frame

    def interrupted(index, *a, **kw):
        if index == 6:
            raise KeyboardInterrupt
        return real(index, *a, **kw)

    monkeypatch.setattr(runner_mod, "make_frame", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_synth(small_cfg(out=str(out), count=10))
    monkeypatch.setattr(runner_mod, "make_frame", real)
    meta = out / "metadata.jsonl"
    assert meta.read_bytes().endswith(b"\n")
    assert [r["index"] for r in read_jsonl(meta)] == list(range(6))
    # Simulate a crash during the next append and inside an image write: a partial line and a temp file.
    with open(meta, "ab") as f:
        f.write(b'{"file_name": "frame_0000')
    (out / ".frame_000008.jpg.x1y2.tmp").write_bytes(b"\xff\xd8\xff")
    summary = run_synth(small_cfg(out=str(out), count=10))
    assert summary["made"] == 4 and summary["already_there"] == 6
    assert summary["repaired_metadata_bytes"] > 0 and summary["removed_temp_files"] == 1
    assert not list(out.glob("*.tmp"))
    assert _files(out) == _files(ref_dir)
    # A rerun of a finished set makes nothing; a larger count extends it.
    assert run_synth(small_cfg(out=str(out), count=10))["made"] == 0
    s = run_synth(small_cfg(out=str(out), count=12))
    assert s["made"] == 2 and [r["index"] for r in read_jsonl(meta)] == list(range(12))


def test_deleted_image_is_rerendered_exactly(tmp_path, small_cfg):
    cfg = small_cfg(count=4)
    run_synth(cfg)
    p = Path(cfg.out) / "frame_000002.jpg"
    before = p.read_bytes()
    p.unlink()
    s = run_synth(cfg)
    assert s["rerendered_missing"] == 1 and p.read_bytes() == before


def test_resume_with_other_settings_is_refused(small_cfg):
    run_synth(small_cfg(count=2))
    with pytest.raises(InputError, match=r"other settings.*seed"):
        run_synth(small_cfg(count=4, seed=99))
    with pytest.raises(InputError, match="style"):
        run_synth(small_cfg(count=4, style="clean"))


def test_a_set_begun_by_an_older_synthesiser_is_not_finished_with_new_frames(small_cfg):
    cfg = small_cfg(count=2)
    run_synth(cfg)
    path = Path(cfg.out) / "synth_config.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    del saved["record_version"]                           # what version 1 wrote
    path.write_text(json.dumps(saved), encoding="utf-8")
    with pytest.raises(InputError, match=r"record_version: None there vs 3 now.*older version"):
        run_synth(small_cfg(count=4))


def test_foreign_metadata_is_refused(small_cfg):
    cfg = small_cfg(count=2)
    Path(cfg.out).mkdir(parents=True)
    (Path(cfg.out) / "metadata.jsonl").write_text('{"file_name": "x.jpg", "text": "a"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"metadata.jsonl:1: expected the record of frame index 0"):
        run_synth(cfg)


@pytest.mark.slow
def test_ctrl_c_in_a_real_two_worker_run_then_resume(tmp_path, sentence_file, bg_dir):
    out = tmp_path / "out"
    args = [sys.executable, "-m", "subtitle_vlm", "synth", "--out", str(out), "--count", "400", "--workers", "2",
            "--size", "320x180", "--sentences", str(sentence_file), "--backgrounds", str(bg_dir),
            "--progress", "false"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    meta = out / "metadata.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and not (meta.exists() and meta.stat().st_size > 0):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before the interrupt arrived")
    assert proc.returncode == 130, err.decode()
    assert b"rerun the same command to resume" in err
    lines = meta.read_bytes()
    assert lines.endswith(b"\n")
    n = len(read_jsonl(meta))
    assert 0 < n < 400
    assert not list(out.glob("*.tmp"))
    # no image the metadata does not list (workers render ahead of the lines written in order)
    assert {p.name for p in out.glob("frame_*.jpg")} == {r["file_name"] for r in read_jsonl(meta)}
    done = subprocess.run(args, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    recs = read_jsonl(meta)
    assert [r["index"] for r in recs] == list(range(400))
    for r in recs[n - 2: n + 2]:  # around the cut: complete images
        with Image.open(out / r["file_name"]) as im:
            im.load()
    summary = json.loads((out / "synth_summary.json").read_text(encoding="utf-8"))
    assert summary["already_there"] == n and summary["made"] == 400 - n
