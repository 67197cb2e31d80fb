"""The PP-OCR reader: stock detector, a subtitle selector and a recogniser, each replaceable.

``engine`` runs them on a frame; ``selector`` is the learned subtitle selector (``select_config`` its
options), ``rec`` fine-tunes and exports the recogniser; ``colors`` measures the lines' colours,
``text`` tidies what was read, ``reference`` holds the selectors benchmarks compare against.
"""

from subtitle_vlm.engines.ppocr.engine import (PPOCREngine, PPOCROptions, choose, detect, pad_box,
                                               parse_engine_options, region_rows, resolve_auto_crop, subtitle_box)

__all__ = ["PPOCREngine", "PPOCROptions", "choose", "detect", "pad_box", "parse_engine_options",
           "region_rows", "resolve_auto_crop", "subtitle_box"]
