"""SRT / WebVTT / JSON cue files: round trips, tolerant reading, errors that name the line."""

from __future__ import annotations

import pytest

from subtitle_vlm.io import InputError
from subtitle_vlm.video.srt import Cue, format_timestamp, parse_timestamp, read_cues, write_cues

CUES = [Cue(0.96, 1.56, "先說好，這次換你請客。"), Cue(1.56, 3.4, "等一下 我馬上就到"),
        Cue(3661.001, 3662.5, "兩行\n字幕")]


def test_timestamps():
    assert format_timestamp(3661.0014) == "01:01:01,001"
    assert format_timestamp(0.0395, ".") == "00:00:00.040"
    assert parse_timestamp("01:01:01,001") == pytest.approx(3661.001)
    assert parse_timestamp("00:01.5") == pytest.approx(1.5)  # WebVTT may leave out the hours


@pytest.mark.parametrize("suffix", ["srt", "vtt", "json"])
def test_round_trip(tmp_path, suffix):
    p = tmp_path / f"cues.{suffix}"
    write_cues(p, CUES)
    back = read_cues(p)
    assert [(round(c.start, 3), round(c.end, 3), c.text) for c in back] == \
           [(round(c.start, 3), round(c.end, 3), c.text) for c in CUES]
    assert not list(tmp_path.glob(".*tmp"))  # written atomically, no temp file left


def test_reads_bom_crlf_settings_and_no_numbers(tmp_path):
    p = tmp_path / "x.vtt"
    p.write_bytes("\ufeffWEBVTT\r\n\r\nNOTE made by hand\r\n\r\n00:00:01.000 --> 00:00:02.000 line:90%\r\n嗨\r\n\r\n"
                  "00:00:03.000 --> 00:00:04.500\r\n再見\r\n".encode("utf-8"))
    assert [(c.start, c.end, c.text) for c in read_cues(p)] == [(1.0, 2.0, "嗨"), (3.0, 4.5, "再見")]


def test_errors_name_the_line(tmp_path):
    p = tmp_path / "bad.srt"
    p.write_text("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:0x,000 --> 00:00:03,000\nbad\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.srt:6: bad timestamp"):
        read_cues(p)
    p.write_text("1\n00:00:05,000 --> 00:00:02,000\nbackwards\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.srt:2: cue ends"):
        read_cues(p)
    p.write_text("1\njust text\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.srt:1: expected"):
        read_cues(p)
    with pytest.raises(InputError, match="not found"):
        read_cues(tmp_path / "missing.srt")


def test_empty_cue_list_writes_an_empty_srt(tmp_path):
    write_cues(tmp_path / "e.srt", [])
    assert (tmp_path / "e.srt").read_text() == "" and read_cues(tmp_path / "e.srt") == []
