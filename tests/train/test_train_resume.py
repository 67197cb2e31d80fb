"""Resume passes over checkpoints a kill left half-written; bad images are all named before anything is
made; a resumed run's train_loss covers the whole run."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from subtitle_vlm.io import InputError
from subtitle_vlm.train.trainer import (checkpoint_problem, newest_complete_checkpoint, resolve_resume,
                                        whole_run_train_loss)


def _checkpoint(folder, step, *, state=True, adapter="whole", optimizer=True):
    import torch
    from safetensors.numpy import save_file

    folder.mkdir(parents=True)
    save_file({"lora_A": np.ones((4, 8), np.float32)}, str(folder / "adapter_model.safetensors"))
    if adapter == "cut":
        data = (folder / "adapter_model.safetensors").read_bytes()
        (folder / "adapter_model.safetensors").write_bytes(data[: len(data) // 2])
    if optimizer:
        torch.save({"state": {}, "lr": 1e-3}, folder / "optimizer.pt")
    if state:
        (folder / "trainer_state.json").write_text(json.dumps({"global_step": step, "log_history": []}))
    return folder


def test_the_newest_complete_checkpoint_is_chosen_and_the_others_named(tmp_path, caplog):
    _checkpoint(tmp_path / "checkpoint-300", 300)
    _checkpoint(tmp_path / "checkpoint-400", 400, state=False, adapter="cut")      # killed mid-save
    _checkpoint(tmp_path / "checkpoint-500", 500, adapter="cut")                   # killed while re-saved
    _checkpoint(tmp_path / "checkpoint-1000", 1000)
    (tmp_path / "checkpoint-1000" / "optimizer.pt").write_bytes(b"PK\x03\x04 cut")  # optimizer cut short
    assert checkpoint_problem(tmp_path / "checkpoint-300") is None
    assert "no trainer_state.json" in checkpoint_problem(tmp_path / "checkpoint-400")
    assert "adapter_model.safetensors is cut short" in checkpoint_problem(tmp_path / "checkpoint-500")
    assert "optimizer.pt is cut short" in checkpoint_problem(tmp_path / "checkpoint-1000")
    chosen, skipped = newest_complete_checkpoint(tmp_path)
    assert chosen == tmp_path / "checkpoint-300"
    assert [s.split(":")[0] for s in skipped] == ["checkpoint-1000", "checkpoint-500", "checkpoint-400"]
    with caplog.at_level(logging.INFO):
        assert resolve_resume("auto", tmp_path) == str(tmp_path / "checkpoint-300")
    assert "checkpoint-400: no trainer_state.json" in caplog.text
    assert "resuming from" in caplog.text and "checkpoint-300: the newest complete checkpoint" in caplog.text
    with pytest.raises(InputError, match=r"--resume .*checkpoint-400: cannot resume from it: no trainer_state"
                                         r".*checkpoint-300 \(the newest complete one\)"):
        resolve_resume(str(tmp_path / "checkpoint-400"), tmp_path)


def test_only_broken_checkpoints_start_afresh_instead_of_failing(tmp_path, caplog):
    _checkpoint(tmp_path / "checkpoint-2", 2, state=False)
    (tmp_path / "checkpoint-3").mkdir()  # killed before any file was written
    with caplog.at_level(logging.WARNING):
        assert resolve_resume("auto", tmp_path) is None
    assert "no complete checkpoint" in caplog.text and "starting from step 0" in caplog.text
    assert resolve_resume("auto", tmp_path / "nothing-yet") is None


def test_whole_run_loss_counts_the_steps_before_the_resume():
    history = [{"step": 1, "loss": 4.0}, {"step": 2, "loss": 2.0}, {"step": 2, "eval_loss": 9.0},
               {"step": 3, "loss": 99.0}]  # a row past the checkpoint (step 2) is not part of this run
    assert whole_run_train_loss(history, 2, 1.0, 4) == pytest.approx((4 + 2 + 1 + 1) / 4)
    assert whole_run_train_loss(history, 0, 1.5, 4) == 1.5  # not resumed: the Trainer's own value
    assert whole_run_train_loss([], 2, 1.0, 4) is None      # nothing known about the first steps


def test_several_unreadable_images_are_all_named_before_the_output_folder_is_made(tmp_path, capsys):
    from PIL import Image

    from subtitle_vlm.cli import main

    frames = tmp_path / "frames"
    frames.mkdir()
    lines = []
    for k in range(14):
        Image.new("RGB", (64, 36), (k * 10, 20, 30)).save(frames / f"f{k}.jpg", quality=90)
        lines.append(json.dumps({"file_name": f"f{k}.jpg", "text": "字"}))
    (frames / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    whole = (frames / "f1.jpg").read_bytes()
    (frames / "f1.jpg").write_bytes(whole[: len(whole) // 2])   # cut short
    (frames / "f4.jpg").write_text("not an image")
    for k in (2, 3, 6, 7, 8, 9, 10, 11):                        # 12 bad in all: more than are named
        (frames / f"f{k}.jpg").write_bytes(b"")
    for k in (12, 13):
        (frames / f"f{k}.jpg").write_bytes(b"\xff\xd8\xff\xe0 garbage")
    out = tmp_path / "run"
    assert main(["train", "--model_name_or_path", "tiny:qwen2_vl", "--train_data", str(frames),
                 "--output_dir", str(out), "--max_steps", "1"]) == 2
    err = capsys.readouterr().err
    assert "12 of 14 training images cannot be read" in err
    assert "f1.jpg (" in err and "f4.jpg (" in err and "f6.jpg (" in err  # the cut one is found too
    assert err.count(".jpg (") == 10 and "and 2 more; remove them" in err
    assert not out.exists()


@pytest.mark.slow
def test_a_kill_mid_save_resumes_from_the_last_complete_checkpoint(tmp_path, tiny_model, frame_set16,
                                                                   monkeypatch, caplog):
    import torch
    from safetensors.torch import load_file

    from subtitle_vlm.train import callbacks
    from subtitle_vlm.train.train_cli import main

    tiny_model("qwen2_vl")
    args = ["--model_name_or_path", "tiny:qwen2_vl", "--train_data", str(frame_set16),
            "--per_device_train_batch_size", "2", "--logging_steps", "1", "--learning_rate", "1e-3",
            "--lora_r", "4", "--lora_alpha", "8", "--max_steps", "6", "--save_steps", "2", "--seed", "3",
            "--lora_dropout", "0"]
    straight = tmp_path / "straight"
    assert main(args + ["--output_dir", str(straight)]) == 0

    original = callbacks.RunConfigCallback.on_save

    def killed_during_checkpoint_4(self, a, state, control, **kw):
        original(self, a, state, control, **kw)
        if state.global_step == 4:
            raise KeyboardInterrupt

    out = tmp_path / "killed"
    monkeypatch.setattr(callbacks.RunConfigCallback, "on_save", killed_during_checkpoint_4)
    with pytest.raises(KeyboardInterrupt):
        main(args + ["--output_dir", str(out)])
    monkeypatch.setattr(callbacks.RunConfigCallback, "on_save", original)
    # make checkpoint-4 what a kill mid-save leaves: weights cut short, no trainer state yet
    ck4 = out / "checkpoint-4"
    (ck4 / "trainer_state.json").unlink()
    data = (ck4 / "adapter_model.safetensors").read_bytes()
    (ck4 / "adapter_model.safetensors").write_bytes(data[: len(data) // 3])

    with caplog.at_level(logging.INFO):
        assert main(args + ["--output_dir", str(out)]) == 0  # the same command again
    assert "checkpoint-4: no trainer_state.json" in caplog.text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["resumed_from"].endswith("checkpoint-2") and summary["global_step"] == 6
    assert summary["session_steps"] == 4
    assert checkpoint_problem(ck4) is None  # re-saved whole on the way
    a = load_file(straight / "adapter_model.safetensors")
    b = load_file(out / "adapter_model.safetensors")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)
    # train_loss is the whole run's, as the uninterrupted run reports it; the session's own differs
    whole = json.loads((straight / "summary.json").read_text())["train_loss"]
    assert summary["train_loss"] == pytest.approx(whole, rel=1e-3)
    assert summary["train_loss_session"] != pytest.approx(whole, rel=1e-3)
