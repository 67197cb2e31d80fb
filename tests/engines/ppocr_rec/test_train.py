"""A few Trainer steps: the loss falls on something the stock model reads differently; resume continues;
the run folder holds what report and the engine read."""

import json

import pytest

from subtitle_vlm.engines.ppocr.rec.config import TrainRecConfig
from subtitle_vlm.engines.ppocr.rec.train import run_train_rec
from subtitle_vlm.io import InputError, read_jsonl

from .conftest import draw_frame_set

pytestmark = pytest.mark.slow


def _cfg(frames, out, **kw) -> TrainRecConfig:
    base = dict(frames=[str(frames)], out=str(out), trainable="head", batch_size=4, max_steps=4, learning_rate=3e-3,
                warmup_steps=0, lr_scheduler="constant", logging_steps=1, eval_steps=2, save_steps=2,
                jitter_crops=0, progress=False, seed=0)
    base.update(kw)
    return TrainRecConfig(**base)


@pytest.fixture(scope="module")
def relabelled(tmp_path_factory):
    """Frames whose labels write the final 。 as ·: a convention stock PP-OCR does not follow, so the
    loss starts high and has to fall for the head to learn it."""
    folder = draw_frame_set(tmp_path_factory.mktemp("relabel") / "frames",
                            [["今天天氣很好。"], ["我們明天見。"], ["他說好的。"], ["明天再說。"]])
    rows = read_jsonl(folder / "metadata.jsonl")
    for r in rows:
        r["subtitle"]["lines"] = [t.replace("。", "·") for t in r["subtitle"]["lines"]]
        r["text"] = "".join(r["subtitle"]["lines"])
    (folder / "metadata.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                           encoding="utf-8")
    return folder


def test_loss_falls_and_the_run_folder_is_complete(relabelled, frame_set, tmp_path):
    out = tmp_path / "run"
    summary = run_train_rec(_cfg(relabelled, out, max_steps=8, eval_frames=[str(relabelled)]))
    losses = [r["loss"] for r in read_jsonl(out / "log_history.jsonl") if "loss" in r]
    assert len(losses) == 8
    assert sum(losses[-2:]) / 2 < 0.5 * sum(losses[:2]) / 2
    assert summary["final_eval_cer"] < summary["eval_cer_before"]
    for name in ("rec.onnx", "rec_keys.txt", "rec_config.json", "summary.json", "trainer_state.json",
                 "labels_report.json"):
        assert (out / name).is_file(), name
    assert summary["parity_max_abs_diff"] < 1e-4
    cfg = json.loads((out / "rec_config.json").read_text(encoding="utf-8"))
    assert len(cfg["base_sha256"]) == 64 and cfg["seed"] == 0 and cfg["data"]["recipe"]["jitter"] == 0
    state = json.loads((out / "trainer_state.json").read_text(encoding="utf-8"))
    assert any("eval_cer" in r for r in state["log_history"])


def test_resume_continues_from_the_newest_checkpoint(frame_set, tmp_path):
    out = tmp_path / "run"
    run_train_rec(_cfg(frame_set, out, max_steps=2, save_steps=2))
    assert (out / "checkpoint-2").is_dir()
    summary = run_train_rec(_cfg(frame_set, out, max_steps=4, save_steps=2))
    assert summary["steps"] == 4 and summary["steps_this_run"] == 2


def test_every_part_trains_without_cached_features(frame_set, tmp_path):
    summary = run_train_rec(_cfg(frame_set, tmp_path / "all", trainable="all", freeze_bn=False, max_steps=1,
                                 learning_rate=1e-5))
    assert summary["cached_backbone_features"] is False and summary["steps"] == 1


def test_bad_options_say_what_to_change(tmp_path):
    with pytest.raises(InputError, match="--frames"):
        TrainRecConfig(frames=[], out=str(tmp_path)).validate()
    with pytest.raises(InputError, match="no crops"):
        TrainRecConfig(frames=["x"], typical_crop=False, jitter_crops=0).validate()
