"""The PP-OCR engine with the shipped selector on synthesised TV layouts: a news ticker, a name tag, and a
frame with no subtitle at all (tv style otherwise). The frame records say which text is which. Drawn with
the font wheel's faces only, so the frames are the same on every machine."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rapidocr")
pytest.importorskip("onnxruntime")

from PIL import Image  # noqa: E402

from subtitle_vlm.engines.ppocr.selector.evaluate import chosen_roles  # noqa: E402
from subtitle_vlm.io import read_jsonl  # noqa: E402
from subtitle_vlm.text.metrics import levenshtein  # noqa: E402


@pytest.fixture(scope="module")
def engine():
    from subtitle_vlm.engines.ppocr import PPOCREngine, PPOCROptions

    return PPOCREngine(PPOCROptions(threads=2))


def _wheel_font() -> str:
    spec = importlib.util.find_spec("manimgx_fonts_cjk")
    if not (spec and spec.origin):
        pytest.skip("the manimgx-fonts-cjk wheel is not installed")
    return str(Path(spec.origin).parent)


def _frames(tmp_path, name, **over):
    from subtitle_vlm.synth import SynthConfig, run_synth

    out = tmp_path / name
    cfg = dict(out=str(out), count=3, seed=11, style="tv", fonts=[_wheel_font()], subtitle_styles=["outline_white"],
               text_convention=["punctuated"], p_scene_text=0.0, p_title=0.0, p_caption=0.0, progress=False)
    cfg.update(over)
    run_synth(SynthConfig(**cfg))
    return [(rec, np.asarray(Image.open(out / rec["file_name"]).convert("RGB")))
            for rec in read_jsonl(out / "metadata.jsonl")]


@pytest.mark.slow
@pytest.mark.parametrize("element,over", [
    ("ticker", {"p_ticker": 1.0, "p_tag": 0.0, "p_empty": 0.0}),
    ("tag", {"p_ticker": 0.0, "p_tag": 1.0, "p_empty": 0.0}),
])
def test_the_subtitle_is_read_and_the_other_element_left_out(engine, tmp_path, element, over):
    for rec, rgb in _frames(tmp_path, element, **over):
        assert any(e["role"] == element for e in rec["elements"])  # the frame really shows one
        sel = engine.select(rgb)
        assert set(chosen_roles(sel, rec)) == {"subtitle"}, (rec["text"], sel.text, sel.rejected)
        assert levenshtein(sel.text, rec["text"]) <= 2, (rec["text"], sel.text)
        # The element's lines are among those turned down, each with its score.
        assert any(why.startswith("score ") for _, why in sel.rejected)


@pytest.mark.slow
def test_a_frame_without_subtitle_reads_empty_even_with_a_ticker_and_a_tag(engine, tmp_path):
    for rec, rgb in _frames(tmp_path, "empty", p_empty=1.0, p_ticker=1.0, p_tag=1.0):
        assert rec["text"] == "" and len(rec["elements"]) >= 2
        sel = engine.select(rgb)
        assert sel.text == "" and sel.box is None, sel.text
        assert sel.others  # the ticker and the tag were seen, and turned down
