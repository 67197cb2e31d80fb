"""End to end on tiny synthesised videos: cue times on the exact frames, few reads, resume, frames-out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from subtitle_vlm.io import read_csv_predictions, read_frame_set
from subtitle_vlm.video.srt import read_cues
from subtitle_vlm.video.srt_metrics import score_cues
from subtitle_vlm.video.video_config import VideoConfig, naive
from subtitle_vlm.video.run import run_video


# The template reader stands in for an engine; the fixed bottom band keeps these tests about change detection
# (``--crop auto`` asks PP-OCR for the region: tests/video/test_video_engines.py).
BAND = "bottom=0.33"


def _cfg(tiny, tmp_path, **kw) -> VideoConfig:
    kw.setdefault("crop", BAND)
    cfg = VideoConfig(input=tiny["video"], out=str(tmp_path / "out.srt"), progress=False, **kw)
    cfg.validate()
    return cfg


def test_cues_land_on_the_exact_frames_with_few_reads(tiny, reader, tmp_path):
    cfg = _cfg(tiny, tmp_path)
    res = run_video(cfg, engine=reader)
    pred = read_cues(cfg.out)
    rep = score_cues(tiny["cues"], pred, fps=tiny["fps"])
    assert rep.recall == 1.0 and rep.precision == 1.0, rep.to_markdown()
    assert rep.cer == 0.0
    # Every boundary on the gold frame (SRT keeps milliseconds; frames are 100 ms apart here).
    assert all(abs(p.start_error) < 1e-3 and abs(p.end_error) < 1e-3 for p in rep.pairs), rep.to_markdown()
    assert not rep.duplicates and not rep.split_gold
    # The text shown twice stays two cues.
    texts = [c.text for c in pred]
    assert len(texts) == len(set(texts)) + 1
    # The reader ran once per band state (a cue or a gap), not on every sample, plus the retries of a gap
    # whose band looks like text (a caption passing through it); the cache is gone after success.
    assert res.stats.reads - res.stats.retries + res.stats.empty == res.stats.states <= 2 * len(tiny["cues"]) + 2
    assert res.stats.retries <= cfg.retries * res.stats.states
    assert res.stats.reads < res.stats.samples
    assert res.stats.frames == 40
    assert not Path(cfg.cache_path).exists()


def test_naive_mode_reads_every_sample_and_lands_on_samples(tiny, tmp_path, Reader):
    reader = Reader(tiny["cues_json"])
    cfg = naive(_cfg(tiny, tmp_path, fps=4.0))
    res = run_video(cfg, engine=reader)
    assert res.stats.reads == res.stats.samples
    rep = score_cues(tiny["cues"], read_cues(cfg.out), fps=tiny["fps"])
    # Samples every 2.5 frames: boundaries fall on them, not on the frames where text changes.
    errors = [abs(p.start_error) for p in rep.pairs] + [abs(p.end_error) for p in rep.pairs]
    assert max(errors, default=0) > 0.05
    smart = run_video(_cfg(tiny, tmp_path / "smart", fps=4.0), engine=Reader(tiny["cues_json"]))
    assert smart.stats.reads < res.stats.reads


def test_short_cues_between_samples_are_found(tiny, tmp_path, Reader):
    # One sample a second: every cue (0.4-1.2 s) and gap falls between samples, found by the band search.
    reader = Reader(tiny["cues_json"])
    cfg = _cfg(tiny, tmp_path, fps=1.0)
    run_video(cfg, engine=reader)
    rep = score_cues(tiny["cues"], read_cues(cfg.out), fps=tiny["fps"])
    assert rep.recall == 1.0 and rep.precision == 1.0, rep.to_markdown()
    assert rep.as_dict()["boundary_error_s"]["max"] < 1e-3


def test_interrupted_run_resumes_from_the_cache(tiny, tmp_path, Reader):
    cfg = _cfg(tiny, tmp_path)
    crashing = Reader(tiny["cues_json"], fail_after=3)
    with pytest.raises(Reader.Crashed):
        run_video(cfg, engine=crashing)
    cache = Path(cfg.cache_path)
    assert cache.exists() and not Path(cfg.out).exists()
    cached = len(cache.read_text(encoding="utf-8").splitlines()) - 1
    assert cached >= 2  # the batches before the crash were kept

    again = Reader(tiny["cues_json"])
    res = run_video(cfg, engine=again)
    assert res.stats.cached == cached
    fresh = run_video(_cfg(tiny, tmp_path / "fresh"), engine=Reader(tiny["cues_json"]))
    assert res.stats.reads == fresh.stats.reads - cached
    assert [(c.start, c.end, c.text) for c in read_cues(cfg.out)] == \
           [(c.start, c.end, c.text) for c in fresh.cues]


def test_a_cache_of_another_video_is_set_aside(tiny, blank, tmp_path, Reader):
    cfg = _cfg(tiny, tmp_path, keep_cache=True)
    run_video(cfg, engine=Reader(tiny["cues_json"]))
    other = VideoConfig(input=blank["video"], out=cfg.out, cache=cfg.cache_path, progress=False, keep_cache=True,
                        crop=BAND)
    res = run_video(other, engine=Reader(tiny["cues_json"]))
    assert res.stats.cached == 0
    assert Path(cfg.cache_path + ".stale").exists()


def test_frames_out_is_a_frame_set_for_predict_and_score(tiny, reader, tmp_path, Reader):
    cfg = _cfg(tiny, tmp_path, frames_out=str(tmp_path / "frames"))
    res = run_video(cfg, engine=reader)
    frames = read_frame_set(tmp_path / "frames")
    assert len(frames) == len(res.cues) == 4
    assert [f.text for f in frames] == [c.text for c in res.cues]
    assert not (tmp_path / "frames" / ".staging").exists()
    gold = read_csv_predictions(tmp_path / "frames" / "readings.csv")
    assert gold == {f.id: f.text for f in frames}
    # The saved frame really shows its cue: the reader reads it back.
    from PIL import Image

    assert Reader(tiny["cues_json"]).read([Image.open(frames[0].path).convert("RGB")]) == [frames[0].text]


@pytest.mark.parametrize("fmt", ["vtt", "json"])
def test_other_formats(tiny, reader, tmp_path, fmt):
    cfg = VideoConfig(input=tiny["video"], out=str(tmp_path / f"out.{fmt}"), progress=False, crop=BAND)
    run_video(cfg, engine=reader)
    text = Path(cfg.out).read_text(encoding="utf-8")
    if fmt == "vtt":
        assert text.startswith("WEBVTT")
    else:
        assert json.loads(text)["meta"]["stats"]["frames"] == 40
    assert [c.text for c in read_cues(cfg.out)] == [c.text for c in tiny["cues"]]


def test_video_without_subtitles_gives_an_empty_file_and_says_so(blank, tiny, tmp_path, capsys, monkeypatch, Reader):
    from subtitle_vlm import cli
    from subtitle_vlm.video import run as run_mod

    monkeypatch.setattr(run_mod, "load_video_engine", lambda cfg: Reader(tiny["cues_json"]))
    out = tmp_path / "none.srt"
    assert cli.main(["video", blank["video"], "--out", str(out), "--crop", BAND, "--progress", "false"]) == 0
    assert out.exists() and out.read_text(encoding="utf-8") == ""
    assert "no subtitle found" in capsys.readouterr().err


def test_cli_writes_srt_and_summary(tiny, tmp_path, capsys, monkeypatch, Reader):
    from subtitle_vlm import cli
    from subtitle_vlm.video import run as run_mod

    monkeypatch.setattr(run_mod, "load_video_engine", lambda cfg: Reader(tiny["cues_json"]))
    out, summ = tmp_path / "s.srt", tmp_path / "s.json"
    assert cli.main(["video", tiny["video"], "--out", str(out), "--fps", "2", "--summary-json", str(summ),
                     "--crop", BAND, "--progress", "false"]) == 0
    assert len(read_cues(out)) == 4
    data = json.loads(summ.read_text())
    assert data["cues"] == 4 and data["frames"] == 40 and data["realtime_factor"] > 0
    assert "real time" in capsys.readouterr().err


def test_variable_frame_rate_boundaries_follow_pts(tiny, tmp_path, Reader):
    """The tiny video re-timed with uneven frame durations: cues follow the frames' own times."""
    from fractions import Fraction

    import av

    from subtitle_vlm.video.decode import iter_frames

    durs = [60 if i % 3 else 150 for i in range(40)]
    times = [sum(durs[:i]) for i in range(41)]
    vfr = tmp_path / "vfr.mkv"
    c = av.open(str(vfr), "w")
    s = c.add_stream("libx264", rate=10)
    s.width, s.height, s.pix_fmt = 320, 180, "yuv420p"
    s.options = {"crf": "12"}
    s.codec_context.time_base = s.time_base = Fraction(1, 1000)
    for fr in iter_frames(tiny["video"]):
        f = av.VideoFrame.from_image(fr.rgb())
        f.pts, f.time_base = times[fr.index], Fraction(1, 1000)
        c.mux(s.encode(f))
    c.mux(s.encode(None))
    c.close()
    cfg = VideoConfig(input=str(vfr), out=str(tmp_path / "vfr.srt"), progress=False, crop=BAND)
    run_video(cfg, engine=Reader(tiny["cues_json"]))
    pred = read_cues(cfg.out)
    want = [(times[c.extra["frames"][0]] / 1000, times[c.extra["frames"][1]] / 1000, c.text) for c in tiny["cues"]]
    assert [(c.start, c.end, c.text) for c in pred] == want


@pytest.mark.parametrize("retries", [0, 2])
def test_an_empty_reading_of_a_text_band_is_retried(tiny, tmp_path, Reader, retries):
    """A reader that misses every line the first time it sees it (like a detector over a busy background)."""

    class FirstLookBlind(Reader):
        seen: set

        def read(self, images):
            out = []
            for t in super().read(images):
                if t and t not in self.seen:
                    self.seen.add(t)
                    t = ""
                out.append(t)
            return out

    def run(background: bool, sub: str):
        reader = FirstLookBlind(tiny["cues_json"])
        reader.seen = set()
        cfg = _cfg(tiny, tmp_path / sub, retries=retries, fps=10, background_reads=background)
        return run_video(cfg, engine=reader), cfg

    res, cfg = run(True, "bg")
    inline, _ = run(False, "inline")
    # Reading on the worker thread or inline reads the same frames and gives the same cues.
    assert [(c.start, c.end, c.text, c.extra["frame_index"]) for c in res.cues] == \
           [(c.start, c.end, c.text, c.extra["frame_index"]) for c in inline.cues]
    assert (res.stats.reads, res.stats.retries) == (inline.stats.reads, inline.stats.retries)
    rep = score_cues(tiny["cues"], read_cues(cfg.out), fps=tiny["fps"])
    if retries:
        assert res.stats.retries >= 3 and rep.recall == 1.0, rep.to_markdown()
        # A retry keeps the state's start: the cue still begins on its first frame.
        assert all(abs(p.start_error) < 1e-3 for p in rep.pairs), rep.to_markdown()
    else:
        assert res.stats.retries == 0 and rep.recall <= 0.75  # each distinct line lost once


def test_the_reader_crop_is_the_flag_else_the_run_config(tiny, tmp_path):
    """--read-crop, else the crop of the model's run config (as predict resolves it), else the whole frame;
    the readings cache is keyed on the crop, so a cache read through another crop is not reused."""

    class Sizes:
        name, batch_size = "sizes", 4

        def __init__(self):
            self.seen = set()

        def read(self, images):
            self.seen |= {im.size for im in images}
            return ["字幕"] * len(images)

        def close(self):
            pass

    run = tmp_path / "run"
    run.mkdir()
    (run / "run_config.json").write_text(json.dumps({"format": "subtitle-vlm-run/1", "crop": "bottom=0.5"}))

    def seen(name, **kw):
        eng = Sizes()
        run_video(_cfg(tiny, tmp_path / name, **kw), engine=eng)
        return eng.seen

    assert seen("whole") == {(320, 180)}
    assert seen("flag", read_crop="box=0,0,0.5,0.5") == {(160, 90)}
    assert seen("run", model=str(run)) == {(320, 90)}
    assert seen("flag_wins", model=str(run), read_crop="none") == {(320, 180)}
    assert seen("band", model=str(run), read_crop="band") == {(320, 59)}


def test_a_whole_frame_engine_searches_the_watched_region(tiny, tmp_path):
    """An engine that finds the subtitle in whole frames (PP-OCR) gets whole frames and the watched
    region (read_region); --read-crop none hands it whole frames to search everywhere."""

    class Finder:
        name, batch_size, reads_whole_frame = "finder", 4, True

        def __init__(self):
            self.calls = []

        def read(self, images):
            self.calls += [("read", im.size, None) for im in images]
            return ["字幕"] * len(images)

        def read_region(self, images, box):
            self.calls += [("region", im.size, tuple(box)) for im in images]
            return ["字幕"] * len(images)

        def close(self):
            pass

    eng = Finder()
    res = run_video(_cfg(tiny, tmp_path / "region"), engine=eng)
    assert eng.calls and {c for c in eng.calls} == {("region", (320, 180), tuple(res.band_box))}
    whole = Finder()
    run_video(_cfg(tiny, tmp_path / "whole", read_crop="none"), engine=whole)
    assert {c for c in whole.calls} == {("read", (320, 180), None)}
