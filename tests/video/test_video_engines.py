"""The real engines behind `video`: PP-OCR reads a small synthesised video (and finds the band for
--crop auto); a tiny random transformers model goes through the same loop (plumbing, not reading)."""

from __future__ import annotations

import pytest

from subtitle_vlm.video.run import run_video
from subtitle_vlm.video.srt import read_cues
from subtitle_vlm.video.srt_metrics import score_cues
from subtitle_vlm.video.video_config import VideoConfig


@pytest.mark.slow
def test_ppocr_reads_a_video_with_auto_crop(tmp_path, make_video_file):
    pytest.importorskip("rapidocr")
    from subtitle_vlm.engines.ppocr import PPOCREngine, PPOCROptions

    v = make_video_file(tmp_path, "ppocr.mp4", size="640x360", duration=3.0, cues=2, min_cue=0.8, max_cue=1.2,
                        crf=16)
    cfg = VideoConfig(input=v["video"], out=str(tmp_path / "p.srt"), crop="auto", progress=False)
    res = run_video(cfg, engine=PPOCREngine(PPOCROptions(threads=2)))
    x0, y0, x1, y1 = res.band_box
    assert y0 >= 360 * 0.5 and y1 <= 360 and (x0, x1) == (0, 640)  # found low in the frame, full width
    assert any("auto" in n for n in res.notes)
    rep = score_cues(v["cues"], read_cues(cfg.out), fps=v["fps"])
    assert rep.recall == 1.0 and rep.precision == 1.0, rep.to_markdown()
    assert rep.cer <= 0.1, rep.to_markdown()
    assert rep.as_dict()["boundary_error_s"]["max"] < 1e-3


@pytest.mark.slow
def test_a_scrolling_ticker_and_name_tags_neither_trigger_reads_nor_become_cues(tmp_path, make_video_file):
    pytest.importorskip("rapidocr")
    from subtitle_vlm.engines.ppocr import PPOCREngine, PPOCROptions

    v = make_video_file(tmp_path, "ticker.mp4", size="640x360", duration=4.0, cues=2, min_cue=1.0, max_cue=1.5,
                        crf=16, ticker=6, tags=True)
    cfg = VideoConfig(input=v["video"], out=str(tmp_path / "t.srt"), progress=False)  # --crop auto by default
    res = run_video(cfg, engine=PPOCREngine(PPOCROptions(threads=2)))
    rep = score_cues(v["cues"], read_cues(cfg.out), fps=v["fps"])
    assert rep.recall == 1.0 and rep.precision == 1.0, rep.to_markdown()
    # The ticker scrolls in every frame: watched, it would make every sample a read. Only the subtitle's
    # region is watched, so reads stay near one per cue and gap.
    assert res.stats.reads <= 2 * len(v["cues"]) + 3, res.stats
    assert res.band_box[3] < 360 - 10  # the watched region ends above the ticker band


@pytest.mark.slow
def test_hf_engine_runs_the_same_loop(tmp_path, tiny, capsys):
    pytest.importorskip("transformers")
    from subtitle_vlm import cli
    from subtitle_vlm.train.tiny import build_tiny_model

    model = build_tiny_model("qwen2_vl", tmp_path / "tiny_qwen", image_size=64)
    out = tmp_path / "hf.json"
    assert cli.main(["video", tiny["video"], "--out", str(out), "--engine", "hf", "--model", str(model),
                     "--device", "cpu", "--max-new-tokens", "3", "--read-crop", "band", "--progress", "false",
                     "--keep-cache", "true"]) == 0
    import json

    data = json.loads(out.read_text(encoding="utf-8"))
    stats = data["meta"]["stats"]
    # A random model reads nonsense, but every band state was handed to it once, cropped to the band.
    assert stats["reads"] + stats["empty"] == stats["states"] > 0
    cache = (tmp_path / "hf.json.cache.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(cache[0])["engine"]["engine"] == "hf" and len(cache) - 1 == stats["reads"]
    assert "real time" in capsys.readouterr().err
