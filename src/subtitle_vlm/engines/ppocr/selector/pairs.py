"""Which other lines belong to the same subtitle as a chosen one: features of a pair of detections.

A subtitle is often more than one detection: two lines stacked, or one line the detector split where the
letters leave a gap (a Taiwan-style comma is a space). Whether a neighbour belongs is a question about the
pair - same size, same colours, one line apart or on one baseline, overlapping across - so a second model
learns it from pairs of detections in synthetic frames (labels from the records: both lines subtitle, or
not). The line scores are not among its features: a line the line model doubts (the short upper line
of a two-line subtitle) still joins when it matches the chosen one. ``near`` lists the neighbours worth
asking about; the rest never join.
"""

from __future__ import annotations

import numpy as np

from subtitle_vlm.engines.ppocr.detection import Detection

PAIR_FEATURES: tuple[str, ...] = (
    "same_row", "dy", "gap_x", "gap_y", "height_ratio", "x_overlap", "cx_diff", "b_off_centre",
    "has_colors", "fill_rgb_diff", "fill_luma_diff", "edge_luma_diff", "fill_sat_diff", "border_diff",
    "strip_flat_diff", "b_cjk_frac", "b_touches_edge", "b_len",
)
# How far a neighbour may be to be asked about at all, in line heights of the chosen line: as far as any
# subtitle's two lines or two phrases are apart, with room to spare (the model decides within it).
NEAR_ROW_GAP = 3.0
NEAR_STACK_GAP = 1.5


def same_row(a: Detection, b: Detection) -> bool:
    return abs(a.cy - b.cy) <= 0.35 * min(a.height, b.height)


def near(a: Detection, b: Detection) -> bool:
    h = max(1.0, a.height)
    if same_row(a, b):
        gap = max(b.box[0] - a.box[2], a.box[0] - b.box[2])
        return gap <= NEAR_ROW_GAP * h
    gap_y = max(b.box[1] - a.box[3], a.box[1] - b.box[3])
    overlap = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    return gap_y <= NEAR_STACK_GAP * h and overlap > 0


def pair_features(a: Detection, b: Detection, pa: float, pb: float, sa, sb, width: int, height: int) -> list[float]:
    h = max(1.0, a.height)
    row = same_row(a, b)
    gap_x = max(b.box[0] - a.box[2], a.box[0] - b.box[2]) / h
    gap_y = max(b.box[1] - a.box[3], a.box[1] - b.box[3]) / h
    overlap = max(0.0, min(a.box[2], b.box[2]) - max(a.box[0], b.box[0]))
    min_w = max(1.0, min(a.box[2] - a.box[0], b.box[2] - b.box[0]))
    ca, cb = a.colors, b.colors
    if ca is not None and cb is not None:
        col = [1.0, max(abs(x - y) for x, y in zip(ca.fill_rgb, cb.fill_rgb)) / 255.0,
               abs(ca.fill_luma - cb.fill_luma) / 255.0, abs(ca.edge_luma - cb.edge_luma) / 255.0,
               abs(ca.fill_saturation - cb.fill_saturation), abs(ca.border_fraction - cb.border_fraction)]
    else:
        col = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    t = b.text.strip()
    from subtitle_vlm.engines.ppocr.text import is_cjk

    return [float(row), (b.cy - a.cy) / h, gap_x, gap_y, b.height / h, overlap / min_w,
            abs((a.box[0] + a.box[2]) - (b.box[0] + b.box[2])) / 2 / width,
            abs((b.box[0] + b.box[2]) / 2 - width / 2) / width] + col + [
        abs(float(sa[0]) - float(sb[0])) if sa is not None and sb is not None else 0.0,
        sum(1 for c in t if is_cjk(c)) / max(1, len(t)),
        float(b.box[0] <= 0.01 * width or b.box[2] >= 0.99 * width), float(len(t))]


def frame_pairs(dets, probs, strips, width: int, height: int, anchors) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Features of (anchor, neighbour) for every anchor index in ``anchors`` and each neighbour ``near`` it."""
    rows, idx = [], []
    for i in anchors:
        for j in range(len(dets)):
            if j != i and dets[j].text.strip() and near(dets[i], dets[j]):
                si = strips[i] if strips is not None else None
                sj = strips[j] if strips is not None else None
                rows.append(pair_features(dets[i], dets[j], probs[i], probs[j], si, sj, width, height))
                idx.append((i, j))
    X = np.asarray(rows, dtype=np.float32) if rows else np.zeros((0, len(PAIR_FEATURES)), np.float32)
    return X, idx


__all__ = ["NEAR_ROW_GAP", "NEAR_STACK_GAP", "PAIR_FEATURES", "frame_pairs", "near", "pair_features", "same_row"]
