"""engines/ppocr/strip.py: a strip of a frame reaches PP-OCR's detector at the scale the whole frame would,
checked against rapidocr's own preparation steps (shrink, vertical padding, 32-pixel resize)."""

import numpy as np
import pytest

from subtitle_vlm.engines.ppocr.strip import det_scale, strip_limit, strip_rows

pytest.importorskip("rapidocr")


def detector_input(h: int, w: int, limit: int) -> tuple[int, int, int]:
    """(rows, columns, padding rows) of the array rapidocr's detector gets for an h x w image."""
    from rapidocr.ch_ppocr_det.utils import DetPreProcess
    from rapidocr.utils.process_img import apply_vertical_padding, resize_image_within_bounds

    img = np.zeros((h, w, 3), np.uint8)
    img, _, _ = resize_image_within_bounds(img, 30, 2000)
    img, rec = apply_vertical_padding(img, {}, 8, 30)
    out = DetPreProcess(limit, "min").resize(img)
    return out.shape[0], out.shape[1], rec["padding_1"]["top"]


@pytest.mark.parametrize("size", [(1280, 720), (854, 480), (640, 360), (1920, 1080), (3840, 2160), (720, 1280),
                                  (320, 180), (1080, 2400), (2160, 3840), (3840, 1080), (2560, 720)])
@pytest.mark.parametrize("band", [(0.80, 0.95), (0.99, 1.0), (0.0, 0.02), (0.4, 0.9)])
def test_a_strip_is_detected_at_the_whole_frames_scale(size, band):
    w, h = size
    limit = 736
    whole_rows, whole_cols, _ = detector_input(h, w, limit)
    rows = strip_rows((int(band[0] * h), int(band[1] * h)), h, w, limit)
    if rows is None:  # the strip would be the whole frame: nothing to save
        return
    y0, y1 = rows
    assert 0 <= y0 < y1 <= h and y1 - y0 >= min(64, h)
    assert y0 <= int(band[0] * h) and y1 >= min(h, int(band[1] * h))  # it holds the rows asked for
    srows, scols, pad = detector_input(y1 - y0, w, strip_limit(y1 - y0, h, w, limit))
    assert pad == 0  # never padded with black rows
    assert scols == whole_cols  # the same horizontal scale
    # The frame's scale, up to the rounding of one frame row (the whole frame's own rows are rounded to 32
    # pixels, so it is itself up to 16 pixels off its scale).
    scale = det_scale(h, w, limit)
    assert abs(whole_rows - h * scale) <= 16
    assert abs(srows - (y1 - y0) * scale) <= max(1.0, scale / 2 + 0.5), (srows, y1 - y0, scale)


def test_empty_or_whole_rows_mean_the_whole_frame():
    assert strip_rows((500, 500), 720, 1280, 736) is None
    assert strip_rows((800, 900), 720, 1280, 736) is None
    assert strip_rows((0, 720), 720, 1280, 736) is None
    # Frames rapidocr shrinks in a way a strip cannot follow are searched whole.
    assert strip_rows((2000, 2100), 2400, 1080, 736) is None   # portrait over 2000 px: shrunk by its height
    assert strip_rows((900, 1000), 1080, 3840, 736) is None    # shrunk, then enlarged: rounded twice
    assert strip_rows((1800, 2000), 2160, 3840, 736) is not None  # 4K: shrunk alike, never enlarged
    # A one-row region grows upwards to a strip the detector takes whole.
    y0, y1 = strip_rows((700, 701), 720, 1280, 736)
    assert y1 == 701 and y1 - y0 >= 1280 // 8
