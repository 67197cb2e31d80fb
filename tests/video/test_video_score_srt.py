"""score-srt: time matching, precision/recall, text errors, boundary errors, split and duplicated cues."""

from __future__ import annotations

import json

import pytest

from subtitle_vlm import cli
from subtitle_vlm.video.srt import Cue, write_cues
from subtitle_vlm.video.srt_metrics import score_cues

GOLD = [Cue(1.0, 3.0, "你今天怎麼這麼早就回來了？"), Cue(3.0, 4.0, "我們先把行李放好"), Cue(5.0, 8.0, "這碗牛肉麵真好吃"),
        Cue(9.0, 10.0, "好")]


def test_perfect_prediction():
    r = score_cues(GOLD, GOLD, fps=25)
    d = r.as_dict()
    assert (d["precision"], d["recall"], d["cer"], d["split_cues"], d["duplicated_cues"]) == (1, 1, 0, 0, 0)
    assert d["boundary_error_frames"]["max"] == 0


def test_errors_are_measured():
    pred = [Cue(1.04, 3.0, "你今天怎麼這麼早就回來了"),  # start 1 frame late, one char missing
            Cue(3.0, 3.9, "我們先把行李放好"),  # ends 0.1 s early
            Cue(5.0, 6.4, "這碗牛肉麵真好吃"), Cue(6.4, 8.0, "這碗牛肉麵真好吃"),  # split in two
            Cue(11.0, 12.0, "幽靈字幕")]  # matches nothing
    r = score_cues(GOLD, pred, fps=25)
    d = r.as_dict()
    assert d["matched"] == 3 and d["recall"] == pytest.approx(3 / 4) and d["precision"] == pytest.approx(3 / 5)
    assert d["split_cues"] == 1 and d["duplicated_cues"] == 1
    assert d["cer"] == pytest.approx(1 / (13 + 8 + 8), abs=1e-4)
    # The split cue matches through its larger half (IoU 1.6/3), which starts 1.4 s late.
    assert sorted(round(abs(p.start_error), 3) for p in r.pairs) == [0.0, 0.04, 1.4]
    assert sorted(round(abs(p.end_error), 3) for p in r.pairs) == [0.0, 0.0, 0.1]
    assert d["start_error_s"]["median"] == pytest.approx(0.04)
    assert [m["text"] for m in d["missed"]] == ["好"] and [s["text"] for s in d["spurious"]] == \
        ["這碗牛肉麵真好吃", "幽靈字幕"]  # the unmatched half of the split cue costs precision too
    md = r.to_markdown()
    assert "| 4 | 5 | 3 |" in md and "幽靈字幕" in md


def test_iou_below_threshold_is_no_match():
    r = score_cues([Cue(0, 2, "甲")], [Cue(1.1, 3, "甲")])  # IoU 0.9/3 = 0.3
    assert r.pairs == [] and r.precision == 0 and r.recall == 0


def test_cli_json_and_markdown(tmp_path, capsys):
    g, p = tmp_path / "g.srt", tmp_path / "p.vtt"
    write_cues(g, GOLD)
    write_cues(p, GOLD[:3])
    assert cli.main(["score-srt", "--gold", str(g), "--pred", str(p), "--json", "--out", str(tmp_path / "r.md")]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["recall"] == 0.75 and d["precision"] == 1.0
    assert "| gold | pred |" in (tmp_path / "r.md").read_text(encoding="utf-8")
    assert cli.main(["score-srt", "--gold", str(g), "--pred", str(tmp_path / "none.srt")]) == 2
    assert "not found" in capsys.readouterr().err
