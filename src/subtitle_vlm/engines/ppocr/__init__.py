"""The PP-OCR reader: stock detector, a subtitle selector and a recogniser, each replaceable.

``engine`` runs them on a frame; ``rules`` is the hand-written selector, ``selector`` the learned one;
``colors``, ``refine``, ``spaces`` and ``text`` measure and tidy what the detector found.
"""

from subtitle_vlm.engines.ppocr.engine import (PPOCREngine, PPOCROptions, choose, detect, pad_box,
                                               parse_engine_options, reader, resolve_auto_crop, subtitle_box)

__all__ = ["PPOCREngine", "PPOCROptions", "choose", "detect", "reader", "pad_box", "parse_engine_options",
           "resolve_auto_crop", "subtitle_box"]
