"""Decoding: exact pts times (variable frame rate too), and a clear message for every kind of bad file."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from subtitle_vlm import cli
from subtitle_vlm.io import InputError
from subtitle_vlm.video.decode import file_fingerprint, iter_frames, probe


def write_video(path: Path, times_ms: list[int], size=(64, 48), codec="mpeg4", values=None) -> None:
    """Frames of flat grey (value i*20 unless given) shown at ``times_ms`` (time base 1/1000)."""
    c = av.open(str(path), "w")
    s = c.add_stream(codec, rate=25)
    s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
    s.codec_context.time_base = s.time_base = Fraction(1, 1000)
    for i, t in enumerate(times_ms):
        v = values[i] if values else (i * 20) % 256
        f = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), v, np.uint8), format="rgb24")
        f.pts, f.time_base = t, Fraction(1, 1000)
        c.mux(s.encode(f))
    c.mux(s.encode(None))
    c.close()


def test_variable_frame_rate_times_come_from_pts(tmp_path):
    times = [0, 40, 120, 130, 400, 1000, 1033]
    p = tmp_path / "vfr.mkv"
    write_video(p, times)
    got = [(fr.index, round(fr.time, 3)) for fr in iter_frames(p)]
    assert got == [(i, t / 1000) for i, t in enumerate(times)]
    # The luma plane is read without conversion: limited-range Y of the grey level written.
    lum = [float(fr.luma().mean()) for fr in iter_frames(p)]
    want = [16 + 219 * ((i * 20) % 256) / 255 for i in range(len(times))]
    assert all(abs(a - b) <= 3 for a, b in zip(lum, want)), (lum, want)


def test_probe_describes_the_stream(tmp_path):
    p = tmp_path / "v.mp4"
    write_video(p, [i * 40 for i in range(10)], size=(80, 64))
    info = probe(p)
    assert (info.width, info.height, info.codec) == (80, 64, "mpeg4")
    assert info.duration == pytest.approx(0.4, abs=0.05)
    assert len(file_fingerprint(p)) == 20 and file_fingerprint(p) == file_fingerprint(p)


def _bad(tmp_path: Path, kind: str) -> Path:
    if kind == "missing":
        return tmp_path / "nope.mp4"
    if kind == "empty file":
        p = tmp_path / "empty.mp4"
        p.write_bytes(b"")
        return p
    if kind == "corrupt":
        p = tmp_path / "corrupt.mp4"
        p.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
        return p
    if kind == "audio only":
        p = tmp_path / "audio.m4a"
        c = av.open(str(p), "w")
        s = c.add_stream("aac", rate=16000)
        fr = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        fr.sample_rate, fr.pts = 16000, 0
        c.mux(s.encode(fr))
        c.mux(s.encode(None))
        c.close()
        return p
    if kind == "unsupported codec":
        # An AVI whose video FourCC no FFmpeg decoder claims: the stream is there, its codec unknown.
        p = tmp_path / "ok.avi"
        write_video(p, [i * 40 for i in range(5)])
        q = tmp_path / "unknown_codec.avi"
        q.write_bytes(p.read_bytes().replace(b"FMP4", b"QQQQ"))
        return q
    if kind == "zero length":
        p = tmp_path / "zero.avi"
        c = av.open(str(p), "w")
        s = c.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        c.start_encoding()
        c.close()
        return p
    raise ValueError(kind)


BAD = {
    "missing": "no such file",
    "empty file": "the file is empty",
    "corrupt": "not a video FFmpeg can read",
    "audio only": "no video stream (it has only audio streams)",
    "unsupported codec": "no decoder in this FFmpeg build (unsupported codec)",
    "zero length": "zero-length video",
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_input_gets_a_clear_message(tmp_path, kind):
    path = _bad(tmp_path, kind)
    with pytest.raises(InputError) as e:
        list(iter_frames(path))
    assert BAD[kind] in str(e.value) and str(path) in str(e.value)


@pytest.mark.parametrize("kind", ["corrupt", "audio only", "unsupported codec", "zero length"])
def test_cli_exits_2_and_writes_nothing(tmp_path, kind, capsys, monkeypatch):
    from subtitle_vlm.video import run as run_mod

    class Never:
        name, batch_size = "never", 1

        def read(self, images):
            raise AssertionError("no frame should be read")

        def close(self):
            pass

    monkeypatch.setattr(run_mod, "load_video_engine", lambda cfg: Never())
    path = _bad(tmp_path, kind)
    out = tmp_path / "subs.srt"
    assert cli.main(["video", str(path), "--out", str(out), "--progress", "false"]) == 2
    assert BAD[kind] in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "subs.srt.cache.jsonl").exists()
