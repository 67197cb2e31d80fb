"""Fixtures for the video tests: tiny synthesised videos with known cues, and a reader that needs no model.

``TemplateReader`` reads a frame by comparing its bottom band with each known cue's subtitle rendered
alone (our synth renderer over black): the nearest template by band distance wins, and nothing near
reads as "". It is a real, if narrow, reader of pixels, so the cue logic is tested on what it sees.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from subtitle_vlm.engines.base import Engine
from subtitle_vlm.video import band
from subtitle_vlm.video.synth_video import SynthVideoConfig, make_video

TINY = dict(duration=4.0, fps=10, size="320x180", cues=4, min_cue=0.4, max_cue=1.2, crf=12, progress=False)


class ReaderCrashed(RuntimeError):
    pass


class TemplateReader(Engine):
    name = "template"
    batch_size = 2
    Crashed = ReaderCrashed

    def __init__(self, cues_json: str | Path, fail_after: int | None = None):
        from subtitle_vlm.synth import render_record

        data = json.loads(Path(cues_json).read_text(encoding="utf-8"))
        self.templates: list[tuple[str, np.ndarray]] = []
        for cue in data["cues"]:
            rec = cue["record"]
            W, H = rec["size"]
            img = render_record(rec, None, background=Image.new("RGB", (W, H)))
            self.templates.append((cue["text"], self._sig(img)))
        self.calls = 0
        self.frames_read = 0
        self.fail_after = fail_after

    @staticmethod
    def _sig(img) -> np.ndarray:
        luma = np.asarray(img.convert("L"))
        h = luma.shape[0]
        return band.signature(luma[int(h * 0.6):], band.for_height(h))

    def read(self, images: list) -> list[str]:
        if self.fail_after is not None and self.frames_read + len(images) > self.fail_after:
            raise ReaderCrashed("reader died mid-run")
        self.calls += 1
        self.frames_read += len(images)
        out = []
        for im in images:
            sig = self._sig(im)
            d, text = min((band.distance(sig, t), text) for text, t in self.templates)
            out.append(text if d < 0.6 else "")
        return out


def make_tiny(folder: Path, name: str = "tiny.mp4", **over) -> dict:
    cfg = SynthVideoConfig(out=str(folder / name), **{**TINY, **over})
    cfg.validate()
    cues = make_video(cfg)
    return {"video": cfg.out, "gold": str(cfg.gold_path), "cues_json": str(cfg.cues_json_path), "cues": cues,
            "fps": cfg.fps}


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict:
    """4 s, 320x180, 10 fps, 4 cues (one text shown twice), distractors, noise, pan and zoom."""
    return make_tiny(tmp_path_factory.mktemp("tiny_video"))


@pytest.fixture(scope="session")
def blank(tmp_path_factory) -> dict:
    """The same kind of video with no subtitle at all (distractor captions only)."""
    return make_tiny(tmp_path_factory.mktemp("blank_video"), "blank.mp4", cues=0)


@pytest.fixture
def reader(tiny) -> TemplateReader:
    return TemplateReader(tiny["cues_json"])


@pytest.fixture
def Reader() -> type[TemplateReader]:
    """The reader class itself (test modules cannot import conftest under importlib mode)."""
    return TemplateReader


@pytest.fixture
def make_video_file():
    """make_tiny(folder, name, **overrides) for tests that need their own video."""
    return make_tiny
