"""Outputs of video, synth-video and score never replace an input, a file of another format, or a file the
command did not write; synth-video answers unwritable outputs with one line and exit 2; its cues keep
--min-cue."""

import json
import os

import numpy as np
import pytest

from subtitle_vlm import cli
from subtitle_vlm.io import InputError
from subtitle_vlm.video.video_config import VideoConfig
from subtitle_vlm.video.run import run_video
from subtitle_vlm.video.srt import read_cues
from subtitle_vlm.video.synth_video import SynthVideoConfig, schedule

SMALL = ["--duration", "1", "--fps", "10", "--size", "96x64", "--cues", "1", "--min-cue", "0.3", "--max-cue", "0.5",
         "--distractors", "false", "--progress", "false"]


def test_video_out_over_its_input_or_with_a_video_suffix_is_refused(tiny, tmp_path, capsys):
    before = os.stat(tiny["video"]).st_mtime_ns, os.path.getsize(tiny["video"])
    assert cli.main(["video", tiny["video"], "--out", tiny["video"], "--progress", "false"]) == 2
    assert "is also the video input" in capsys.readouterr().err
    assert cli.main(["video", tiny["video"], "--out", str(tmp_path / "subs.mp4"), "--progress", "false"]) == 2
    assert "a .mp4 name for a SRT file; name it with .srt" in capsys.readouterr().err
    assert cli.main(["video", tiny["video"], "--out", str(tmp_path / "subs.srt"), "--format", "vtt"]) == 2
    assert "a .srt name for a VTT file" in capsys.readouterr().err
    assert (os.stat(tiny["video"]).st_mtime_ns, os.path.getsize(tiny["video"])) == before
    assert not (tmp_path / "subs.mp4").exists()


def test_video_replaces_its_own_srt_but_not_another_file_unless_asked(tiny, reader, tmp_path):
    notes = tmp_path / "subs.srt"
    notes.write_text("my notes, not subtitles\n", encoding="utf-8")
    cfg = VideoConfig(input=tiny["video"], out=str(notes), progress=False, engine="template")
    with pytest.raises(InputError, match="a file is already there that video did not write; pass --overwrite"):
        run_video(cfg, engine=reader)
    assert notes.read_text(encoding="utf-8") == "my notes, not subtitles\n"
    cfg.overwrite = True
    run_video(cfg, engine=reader)
    first = read_cues(notes)
    assert first
    cfg.overwrite = False  # now it is video's own output: a rerun replaces it
    run_video(cfg, engine=reader)
    assert read_cues(notes) == first


def test_synth_video_refuses_outputs_over_each_other_and_over_other_files(tmp_path, capsys):
    a = tmp_path / "a.mp4"
    assert cli.main(["synth-video", "--out", str(a), "--gold", str(a)] + SMALL) == 2
    assert "is also the --gold output" in capsys.readouterr().err and not a.exists()
    other = tmp_path / "unrelated.txt"
    other.write_text("keep me\n")
    assert cli.main(["synth-video", "--out", str(a), "--gold", str(other)] + SMALL) == 2
    assert "a .txt name for a SRT file" in capsys.readouterr().err
    gold = tmp_path / "gold.srt"
    gold.write_text("1\n00:00:00,000 --> 00:00:01,000\nsomeone else's cue\n", encoding="utf-8")
    assert cli.main(["synth-video", "--out", str(a), "--gold", str(gold)] + SMALL) == 2
    assert "did not write for this --out; pass --overwrite" in capsys.readouterr().err
    assert "someone else's cue" in gold.read_text(encoding="utf-8") and not a.exists()
    # its own outputs are replaced on a rerun, without --overwrite
    assert cli.main(["synth-video", "--out", str(a), "--gold", str(gold), "--overwrite"] + SMALL) == 0
    assert cli.main(["synth-video", "--out", str(a), "--gold", str(gold)] + SMALL) == 0
    assert len(read_cues(gold)) == 1
    capsys.readouterr()


def test_synth_video_unwritable_outputs_get_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "taken.mp4").mkdir()
    (tmp_path / "afile").write_text("x")
    for out, says in [("/proc/subtitle-vlm-test/v.mp4", "cannot write there"),
                      (str(tmp_path / "taken.mp4"), "a folder of that name is in the way"),
                      (str(tmp_path / "afile" / "v.mp4"), "cannot write there")]:
        assert cli.main(["synth-video", "--out", out] + SMALL) == 2
        err = capsys.readouterr().err
        assert says in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_synth_video_read_only_folder_gets_one_line(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert cli.main(["synth-video", "--out", str(ro / "v.mp4")] + SMALL) == 2
        assert "cannot write there" in capsys.readouterr().err
    finally:
        ro.chmod(0o755)


def test_every_scheduled_cue_keeps_min_cue_and_ends_inside_the_video():
    short = []
    for seed in range(300):
        cfg = SynthVideoConfig(out="v.mp4", duration=6.0, fps=10, cues=8, min_cue=0.6, max_cue=1.4,
                               back_to_back=0.8, max_gap=0.2)
        spans = schedule(cfg, np.random.default_rng(seed))
        assert all(0 <= a < b <= 60 for a, b in spans)
        assert all(b2 >= a2 >= b1 for (_, b1), (a2, b2) in zip(spans, spans[1:]))
        short += [(seed, b - a) for a, b in spans if b - a < 6]
    assert short == []


def test_score_out_over_gold_or_with_another_suffix_is_refused(tmp_path, capsys):
    gold = tmp_path / "g.csv"
    gold.write_text("id,text\na,好\n", encoding="utf-8")
    pred = tmp_path / "p.csv"
    pred.write_text("id,text\na,好\n", encoding="utf-8")
    base = ["score", "--gold", str(gold), "--pred", str(pred)]
    assert cli.main(base + ["--out", str(gold)]) == 2
    assert "is also the --gold input" in capsys.readouterr().err
    assert gold.read_text(encoding="utf-8") == "id,text\na,好\n"
    assert cli.main(base + ["--out", str(tmp_path / "r.csv")]) == 2
    assert "a .csv name for a score report file; name it with .json, .md" in capsys.readouterr().err
    notes = tmp_path / "notes.md"
    notes.write_text("# my notes\n")
    assert cli.main(base + ["--out", str(notes)]) == 2
    assert "score did not write; pass --overwrite" in capsys.readouterr().err
    assert cli.main(base + ["--out", str(notes), "--overwrite"]) == 0
    assert cli.main(base + ["--out", str(notes)]) == 0  # its own report now: replaced on a rerun
    report = tmp_path / "r.json"
    assert cli.main(base + ["--out", str(report)]) == 0 and cli.main(base + ["--out", str(report)]) == 0
    assert json.loads(report.read_text())["cer"] == 0.0


def test_a_truncated_video_is_read_with_a_warning_and_marked_in_the_summary(tmp_path, make_video_file, Reader,
                                                                            caplog, capsys, monkeypatch):
    import logging

    v = make_video_file(tmp_path, "cut.mkv", duration=4.0)
    whole = VideoConfig(input=v["video"], out=str(tmp_path / "whole.json"), progress=False, crop="bottom=0.33")
    full = run_video(whole, engine=Reader(v["cues_json"]))
    assert not full.short_by and full.as_dict()["truncated"] is False
    data = open(v["video"], "rb").read()
    cut = tmp_path / "half.mkv"
    cut.write_bytes(data[: len(data) // 2])  # the container still declares 4 s
    cfg = VideoConfig(input=str(cut), out=str(tmp_path / "half.json"), progress=False, crop="bottom=0.33")
    with caplog.at_level(logging.WARNING):
        res = run_video(cfg, engine=Reader(v["cues_json"]))
    assert res.info.duration == pytest.approx(4.0, abs=0.2)
    assert res.stats.video_seconds < 3.0 and res.short_by > 1.0
    assert "looks truncated" in caplog.text and "half.mkv" in caplog.text
    assert "TRUNCATED: the file declares 4.0 s" in res.summary()
    meta = json.loads((tmp_path / "half.json").read_text())["meta"]
    assert meta["truncated"] is True and meta["missing_seconds"] > 1.0
    # the CLI's --summary-json records it too
    summary = tmp_path / "s.json"
    from subtitle_vlm.video import run as run_mod

    monkeypatch.setattr(run_mod, "load_video_engine", lambda c: Reader(v["cues_json"]))
    assert cli.main(["video", str(cut), "--out", str(tmp_path / "half.srt"), "--crop", "bottom=0.33",
                     "--progress", "false", "--summary-json", str(summary)]) == 0
    s = json.loads(summary.read_text())
    assert s["truncated"] is True and s["declared_seconds"] == pytest.approx(4.0, abs=0.2)
    capsys.readouterr()
