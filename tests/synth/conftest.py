"""Small inputs for the synth tests: a sentence file, a folder of small backgrounds, a font builder."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from synth_fixtures import SENTENCES  # noqa: E402


@pytest.fixture
def sentence_file(tmp_path: Path) -> Path:
    p = tmp_path / "sentences.txt"
    p.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    return p


@pytest.fixture
def bg_dir(tmp_path: Path) -> Path:
    """Three small backgrounds (bright, dark, noisy) in nested folders, jpg and png."""
    d = tmp_path / "bg"
    (d / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.new("RGB", (400, 240), (230, 230, 220)).save(d / "bright.jpg", quality=90)
    Image.new("RGB", (400, 240), (20, 30, 60)).save(d / "sub" / "dark.png")
    Image.fromarray(rng.integers(0, 255, (240, 400, 3), dtype=np.uint8)).save(d / "sub" / "noise.jpg")
    return d


@pytest.fixture
def small_cfg(tmp_path, sentence_file, bg_dir):
    """A SynthConfig factory for fast runs (320x180, tiny inputs)."""
    from subtitle_vlm.synth import SynthConfig

    def make(**kw):
        base = dict(out=str(tmp_path / "out"), count=6, seed=3, size="320x180", sentences=str(sentence_file),
                    backgrounds=str(bg_dir), progress=False)
        base.update(kw)
        return SynthConfig(**base)

    return make
