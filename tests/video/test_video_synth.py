"""synth-video: a decodable video whose gold cues sit on frame boundaries, with the promised variety."""

from __future__ import annotations

import pytest

from subtitle_vlm import cli
from subtitle_vlm.io import InputError
from subtitle_vlm.video.decode import iter_frames, probe
from subtitle_vlm.video.srt import read_cues
from subtitle_vlm.video.synth_video import SynthVideoConfig, make_video


def test_tiny_video_matches_its_gold(tiny):
    info = probe(tiny["video"])
    assert (info.width, info.height) == (320, 180)
    assert sum(1 for _ in iter_frames(tiny["video"])) == 40
    gold = read_cues(tiny["gold"])
    assert [(c.start, c.end, c.text) for c in gold] == [(c.start, c.end, c.text) for c in tiny["cues"]]
    for c in tiny["cues"]:
        a, b = c.extra["frames"]
        assert (c.start, c.end) == (a / 10, b / 10)
    texts = [c.text for c in gold]
    assert len(set(texts)) == len(texts) - 1  # one text twice ...
    dup = [i for i, t in enumerate(texts) if texts.index(t) != i][0]
    first = texts.index(texts[dup])
    assert gold[dup].start > gold[dup - 1].end and dup - first >= 2  # ... in separate cues


def test_schedule_has_gaps_back_to_back_and_varied_lengths(tmp_path):
    cfg = SynthVideoConfig(out=str(tmp_path / "v.mp4"), duration=60, cues=24, fps=25)
    import numpy as np

    from subtitle_vlm.video.synth_video import schedule

    spans = schedule(cfg, np.random.default_rng(0))
    assert len(spans) == 24
    gaps = [b[0] - a[1] for a, b in zip(spans, spans[1:])]
    lengths = [b - a for a, b in spans]
    assert min(gaps) == 0 and max(gaps) > 5 and all(g >= 0 for g in gaps)
    assert min(lengths) == 15 and max(lengths) > 60 and spans[-1][1] <= 1500


def test_same_seed_same_cues(tmp_path):
    kw = dict(duration=2.0, fps=10, size="128x72", cues=2, min_cue=0.4, max_cue=0.8, progress=False)
    a = make_video(SynthVideoConfig(out=str(tmp_path / "a.mp4"), **kw))
    b = make_video(SynthVideoConfig(out=str(tmp_path / "b.mp4"), **kw))
    assert [(c.start, c.end, c.text) for c in a] == [(c.start, c.end, c.text) for c in b]


def test_cli_and_bad_options(tmp_path, capsys):
    out = tmp_path / "c.avi"
    assert cli.main(["synth-video", "--out", str(out), "--duration", "1", "--fps", "10", "--size", "96x64",
                     "--cues", "1", "--min-cue", "0.3", "--max-cue", "0.5", "--codec", "mpeg4",
                     "--distractors", "false", "--progress", "false"]) == 0
    assert probe(out).codec == "mpeg4" and len(read_cues(out.with_suffix(".srt"))) == 1
    assert cli.main(["synth-video", "--out", str(tmp_path / "x.gif")]) == 2
    assert cli.main(["synth-video", "--out", str(tmp_path / "x.mp4"), "--cues", "50", "--duration", "5"]) == 2
    err = capsys.readouterr().err
    assert "use a .mp4" in err and "do not fit" in err
    with pytest.raises(InputError, match="WIDTHxHEIGHT"):
        SynthVideoConfig(out="v.mp4", size="big").validate()


def test_ticker_scrolls_under_the_subtitles_and_tags_come_and_go_without_cues(tmp_path):
    import json

    import numpy as np

    kw = dict(duration=3.0, fps=10, size="320x180", cues=3, min_cue=0.5, max_cue=0.8, progress=False, noise=0.0,
              distractors=False, seed=2)
    plain = make_video(SynthVideoConfig(out=str(tmp_path / "plain.mp4"), **kw))
    cfg = SynthVideoConfig(out=str(tmp_path / "tv.mp4"), ticker=6, tags=True, **kw)
    make_video(cfg)
    # the gold holds the subtitle cues only, the same ones as without ticker and tags
    assert [(c.start, c.end, c.text) for c in read_cues(cfg.gold_path)] == [(c.start, c.end, c.text) for c in plain]
    data = json.loads(cfg.cues_json_path.read_text(encoding="utf-8"))
    tk, tags = data["meta"]["ticker"], data["meta"]["tags"]
    assert tk["px_per_frame"] == 6 and tk["headlines"] and tags
    band_top = tk["band"][1]
    for row in data["cues"]:
        rec = row["record"]
        assert rec["subtitle"]["bbox"][3] <= band_top  # every subtitle above the ticker
        assert rec["ticker"] is None and rec["tags"] == []
        assert {e["role"] for e in rec["elements"]} == {"subtitle"}
    for t in tags:  # a tag never covers a subtitle on screen at the same time, nor the ticker
        x0, y0, x1, y1 = t["bbox"]
        assert y1 <= band_top
        for row in data["cues"]:
            if row["start"] < t["to"] and t["from"] < row["end"]:
                s0, s1, s2, s3 = row["record"]["subtitle"]["bbox"]
                assert x1 <= s0 or s2 <= x0 or y1 <= s1 or s3 <= y0
    # the ticker's text moves from frame to frame
    frames = [f.luma().astype(np.int16) for _, f in zip(range(2), iter_frames(cfg.out))]
    band = slice(band_top + 2, tk["band"][3] - 2)
    assert np.abs(frames[1][band] - frames[0][band]).mean() > 2
    with pytest.raises(InputError, match="--ticker"):
        SynthVideoConfig(out="v.mp4", ticker=-1).validate()
