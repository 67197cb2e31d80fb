"""The learned subtitle selector of the PP-OCR engine.

    from subtitle_vlm.engines.ppocr.selector import get_selector
    sel = get_selector("default")            # the shipped model; or a train-selector output folder
    selection = sel.select(dets, rgb)        # Selection(text, box, lines, rejected [(text, "score 0.03 ...")])

``features`` describes each detected line, ``labels`` derives the training targets from frame records,
``model`` scores lines (numpy only), ``choose`` assembles the chosen lines into the subtitle; training
(``train``, ``subtitle-vlm train-selector``) needs scikit-learn.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from subtitle_vlm.engines.ppocr.detection import Detection, Selection
from subtitle_vlm.engines.ppocr.selector.choose import assemble, choose_lines, selection_of
from subtitle_vlm.engines.ppocr.selector.features import frame_features, strip_stats
from subtitle_vlm.engines.ppocr.select_config import join_lines
from subtitle_vlm.engines.ppocr.selector.model import SelectorModel, load_selector
from subtitle_vlm.engines.ppocr.text import fix_lookalikes, tidy_text


class LearnedSelector:
    """Scores every detected line with a ``SelectorModel`` and assembles the subtitle from the best."""

    def __init__(self, model: SelectorModel, max_lines: int = 2, line_join: str = "auto",
                 to_traditional: bool = True, fullwidth_punct: bool = True):
        self.model = model
        self.max_lines = max_lines
        self.line_join = line_join
        self.to_traditional = to_traditional
        self.fullwidth_punct = fullwidth_punct

    def scores(self, dets: Sequence[Detection], width: int, height: int, strips=None) -> np.ndarray:
        return self.model.predict_proba(frame_features(dets, width, height, strips))

    def select_scored(self, dets: Sequence[Detection], probs: np.ndarray, strips=None, width: int = 0,
                      height: int = 0) -> Selection:
        if self.model.pair is not None and width and height:
            block, rejected = assemble(dets, probs, self.model, strips, width, height, self.max_lines)
        else:
            block, rejected = choose_lines(dets, probs, self.model.threshold, self.max_lines)
        text = join_lines([r.text for r in block], self.line_join)
        text = tidy_text(text, to_traditional=self.to_traditional, fullwidth_punct=self.fullwidth_punct)
        return selection_of(block, rejected, text, dets)

    def select_measured(self, dets: Sequence[Detection], strips, width: int, height: int) -> Selection:
        """The subtitle among detections whose strips were measured already (training's cached rows)."""
        return self.select_scored(dets, self.scores(dets, width, height, strips), strips, width, height)

    def select(self, dets: Sequence[Detection], rgb: np.ndarray, strips=None) -> Selection:
        """The subtitle among ``dets`` of the RGB frame ``rgb`` (``strips``: precomputed ``strip_stats``)."""
        h, w = rgb.shape[:2]
        if self.to_traditional:  # before the features count Chinese characters: ー二ニー is 一二二一
            dets = [Detection(d.box, fix_lookalikes(d.text), d.score, d.colors) for d in dets]
        if strips is None:
            strips = [strip_stats(rgb, d.box) for d in dets]
        return self.select_measured(dets, strips, w, h)


_cache: dict[str, SelectorModel] = {}
_lock = threading.Lock()


def get_selector(spec: str | None = "default", **kwargs) -> LearnedSelector:
    """A LearnedSelector over the model ``spec`` names (loaded once per process)."""
    key = str(spec or "default")
    with _lock:
        if key not in _cache:
            _cache[key] = load_selector(key)
        model = _cache[key]
    return LearnedSelector(model, **kwargs)


__all__ = ["LearnedSelector", "get_selector"]
