"""Frames are decoded ahead of the engine (in background threads) without changing what it is given;
open_rgb hands back RGB pixels for every kind of file and leaves no file open."""

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from subtitle_vlm.io import read_csv_predictions
from subtitle_vlm.predict import runner
from subtitle_vlm.predict.predict_config import PredictConfig

sys.path.insert(0, str(Path(__file__).parent))
from predict_fakes import ColourEngine, colour_text  # noqa: E402


def make_frames(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        Image.new("RGB", (24, 16), (30 * k % 256, 200 - 20 * k, 7 * k)).save(folder / f"f{k}.png")
    return folder


def test_next_batch_is_decoded_while_the_engine_reads(tmp_path, monkeypatch):
    frames = make_frames(tmp_path / "in", 6)
    opened = []
    next_batch_started = threading.Event()
    real_open = runner.open_rgb

    def spying_open(path):
        opened.append(Path(path).name)
        if Path(path).name in ("f2.png", "f3.png"):
            next_batch_started.set()
        return real_open(path)

    monkeypatch.setattr(runner, "open_rgb", spying_open)

    class Waiting(ColourEngine):
        def read(self, images):
            if not self.calls:  # the first batch: the second one must be under way by now
                self.saw_prefetch = next_batch_started.wait(timeout=30)
            return super().read(images)

    eng = Waiting(batch_size=2)
    out = tmp_path / "pred.csv"
    runner.run_predict(PredictConfig(input=str(frames), out=str(out), engine="x"), engine=eng, progress=False)
    assert eng.saw_prefetch
    assert eng.calls == [2, 2, 2]
    assert sorted(opened) == [f"f{k}.png" for k in range(6)]  # each frame decoded exactly once
    with_frames = {f"f{k}": colour_text(Image.open(frames / f"f{k}.png")) for k in range(6)}
    assert read_csv_predictions(out) == with_frames  # every reading in its own row


def test_engine_error_stops_decoding_ahead(tmp_path, monkeypatch):
    frames = make_frames(tmp_path / "in", 12)
    opened = []
    real_open = runner.open_rgb
    monkeypatch.setattr(runner, "open_rgb", lambda p: opened.append(p) or real_open(p))

    class Failing(ColourEngine):
        def read(self, images):
            raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError, match="out of memory"):
        runner.run_predict(PredictConfig(input=str(frames), out=str(tmp_path / "p.csv"), engine="x"),
                           engine=Failing(batch_size=2), progress=False)
    assert len(opened) <= 4  # the failing batch and at most the one queued behind it


def test_prefetch_workers():
    assert runner.prefetch_workers(1, auto_crop=False) == 1
    assert 1 <= runner.prefetch_workers(8, auto_crop=False) <= min(8, os.cpu_count() or 1)
    assert runner.prefetch_workers(8, auto_crop=True) == 1


def _open_fds_to(path: Path) -> int:
    fd_dir = Path("/proc/self/fd")
    n = 0
    for fd in fd_dir.iterdir():
        try:
            n += os.readlink(fd) == str(path)
        except OSError:
            pass
    return n


@pytest.mark.parametrize("name, make", [
    ("rgb.jpg", lambda: Image.new("RGB", (20, 10), (10, 120, 230))),
    ("rgba.png", lambda: Image.new("RGBA", (20, 10), (10, 120, 230, 90))),
    ("grey.png", lambda: Image.new("L", (20, 10), 77)),
    ("cmyk.jpg", lambda: Image.new("CMYK", (20, 10), (10, 20, 30, 40))),
])
def test_open_rgb_gives_the_rgb_pixels_of_any_mode(tmp_path, name, make):
    path = tmp_path / name
    make().save(path)
    im = runner.open_rgb(path)
    assert im.mode == "RGB"
    with Image.open(path) as ref:
        assert np.array_equal(np.asarray(im), np.asarray(ref.convert("RGB")))
    if Path("/proc/self/fd").is_dir():
        assert _open_fds_to(path.resolve()) == 0


def test_open_rgb_multi_frame_file_is_converted_and_closed(tmp_path):
    path = tmp_path / "anim.gif"
    a, b = Image.new("RGB", (16, 8), (255, 0, 0)), Image.new("RGB", (16, 8), (0, 0, 255))
    a.save(path, save_all=True, append_images=[b])
    im = runner.open_rgb(path)
    assert im.mode == "RGB" and im.getpixel((0, 0)) == (255, 0, 0)  # the first frame
    if Path("/proc/self/fd").is_dir():
        assert _open_fds_to(path.resolve()) == 0
