"""Line crops for the recogniser, cut from frame records the way PP-OCR cuts them at inference.

A synthesised frame's record says where each subtitle line's ink is (font, size, position, letter spacing,
stroke: ``line_boxes``). PP-OCR's detector does not box the ink exactly: its boxes are grown around the
text (``unclip_ratio``) and vary from frame to frame, so training crops are the ink box grown by margins
drawn around the detector's typical ones (``DETECTOR_MARGINS``, measured on synthesised frames: PP-OCR
detections matched to record lines, each edge's offset from the ink in units of the line's ink height).
``detector_box`` gives the typical box (no randomness), used for measuring. Optionally, crops are cut
from PP-OCR's own detections matched to the record's lines (``match_detections``).

``resize_height`` makes a crop what the recogniser sees, as rapidocr's ``resize_norm_img`` does: height
48, width ceil(48 * w / h) (OpenCV bilinear), BGR; ``normalize`` maps uint8 to (v / 255 - 0.5) / 0.5 and
a batch is padded with zeros on the right to its widest crop, never narrower than 320 (rapidocr's
``rec_img_shape`` width).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from subtitle_vlm.io import InputError

REC_HEIGHT = 48
MIN_BATCH_WIDTH = 320

# Detector box edge minus ink edge, in ink heights: (mean, sd) for left, top, right, bottom (outward
# positive). Measured on 100 tv-style frames (bench/_data/rec/train_tv_s101): medians 0.14 / 0.16 / 0.14 /
# 0.14, interquartile ranges ~0.05. The right edge is measured on lines the detector boxes whole: most lines
# end in a mark (，。！？) that the detector leaves out of its box, and a crop must hold what its label says.
DETECTOR_MARGINS = {"left": (0.14, 0.05), "top": (0.16, 0.04), "right": (0.14, 0.05), "bottom": (0.14, 0.04)}


def line_boxes(record: dict) -> list[tuple[str, tuple[int, int, int, int]]]:
    """(text, ink box) of each subtitle line of a frame record, top to bottom; [] without a subtitle."""
    sub = record.get("subtitle")
    if not sub:
        return []
    from subtitle_vlm.synth.fonts import font_for_record
    from subtitle_vlm.synth.layout import line_bbox

    try:
        font = font_for_record(sub["font"], sub["font_size"])
    except (OSError, KeyError) as e:
        raise InputError(f"{record.get('file_name', '?')}: cannot load the subtitle's font "
                         f"{(sub.get('font') or {}).get('path')!r} ({e}); synthesise on this machine or install it") \
            from None
    spacing, stroke = int(sub.get("letter_spacing", 0)), int(sub.get("stroke_width", 0))
    W, H = (int(v) for v in record.get("size", (1 << 30, 1 << 30)))
    out = []
    for text, xy in zip(sub["lines"], sub["line_xy"]):
        box = line_bbox(font, tuple(xy), text, spacing, stroke)
        if box is None or not text.strip():
            continue
        x0, y0, x1, y1 = box
        box = (max(0, x0), max(0, y0), min(W, x1), min(H, y1))
        if box[2] - box[0] >= 4 and box[3] - box[1] >= 4:
            out.append((text, box))
    return out


def detector_box(ink, width: int, height: int, rng: np.random.Generator | None = None,
                 margins: dict | None = None, spread: float = 1.0) -> tuple[int, int, int, int]:
    """The ink box grown as PP-OCR's detector grows it: typical margins, or drawn around them with ``rng``
    (``spread`` scales the standard deviations)."""
    margins = margins or DETECTOR_MARGINS
    x0, y0, x1, y1 = ink
    h = max(1.0, y1 - y0)

    def m(edge):
        mean, sd = margins[edge]
        return mean + (rng.normal(0.0, sd * spread) if rng is not None else 0.0)

    bx0 = int(math.floor(x0 - m("left") * h))
    by0 = int(math.floor(y0 - m("top") * h))
    bx1 = int(math.ceil(x1 + m("right") * h))
    by1 = int(math.ceil(y1 + m("bottom") * h))
    bx0, by0 = max(0, bx0), max(0, by0)
    bx1, by1 = min(width, max(bx1, bx0 + 4)), min(height, max(by1, by0 + 4))
    return bx0, by0, bx1, by1


def char_spans(record: dict, line_index: int) -> list[tuple[float, float]]:
    """Horizontal extent (x0, x1 of each character's advance) of one subtitle line, in frame pixels."""
    from subtitle_vlm.synth.fonts import font_for_record

    sub = record["subtitle"]
    font = font_for_record(sub["font"], sub["font_size"])
    spacing = int(sub.get("letter_spacing", 0))
    x = float(sub["line_xy"][line_index][0])
    spans = []
    for c in sub["lines"][line_index]:
        w = font.getlength(c)
        spans.append((x, x + w))
        x += w + spacing
    return spans


def text_inside(text: str, spans, x0: float, x1: float) -> str:
    """The characters of a line whose advance centre lies inside [x0, x1] (what a detector box holds)."""
    return "".join(c for c, (a, b) in zip(text, spans) if x0 <= (a + b) / 2 <= x1).strip()


def match_detections(lines, det_rects, min_iou: float = 0.5) -> list[tuple[str, tuple[int, int, int, int]]]:
    """Detections that box exactly one record line (IoU with its ink box >= ``min_iou``): (text, rect)."""
    out = []
    for text, ink in lines:
        best, best_iou = None, 0.0
        for r in det_rects:
            ix = max(0.0, min(ink[2], r[2]) - max(ink[0], r[0]))
            iy = max(0.0, min(ink[3], r[3]) - max(ink[1], r[1]))
            inter = ix * iy
            union = (ink[2] - ink[0]) * (ink[3] - ink[1]) + (r[2] - r[0]) * (r[3] - r[1]) - inter
            iou = inter / union if union > 0 else 0.0
            if iou > best_iou:
                best, best_iou = r, iou
        if best is not None and best_iou >= min_iou:
            out.append((text, tuple(int(round(v)) for v in best)))
    return out


def resize_height(crop_bgr: np.ndarray, max_width: int | None = None) -> np.ndarray:
    """A crop scaled to height 48 (uint8, H x W x 3), as rapidocr scales it before recognition."""
    import cv2

    h, w = crop_bgr.shape[:2]
    if h < 1 or w < 1:
        raise ValueError("empty crop")
    new_w = max(1, int(math.ceil(REC_HEIGHT * w / float(h))))
    if max_width:
        new_w = min(new_w, max_width)
    return cv2.resize(crop_bgr, (new_w, REC_HEIGHT))


def normalize(img_u8: np.ndarray) -> np.ndarray:
    """uint8 H x W x 3 -> float32 3 x H x W in [-1, 1]."""
    x = img_u8.astype(np.float32).transpose(2, 0, 1) / 255.0
    return (x - 0.5) / 0.5


def batch_images(images: list[np.ndarray]) -> np.ndarray:
    """Normalised, right-padded with zeros to the widest (at least 320): N x 3 x 48 x W float32."""
    width = max([MIN_BATCH_WIDTH] + [im.shape[1] for im in images])
    out = np.zeros((len(images), 3, REC_HEIGHT, width), dtype=np.float32)
    for i, im in enumerate(images):
        out[i, :, :, : im.shape[1]] = normalize(im)
    return out


@dataclass
class LineCrop:
    """One training or evaluation sample: the resized crop and its label."""
    image: np.ndarray          # 48 x W x 3 uint8, BGR
    text: str
    label: list[int]
    where: str                 # frame set / file name / line index and the crop's kind
