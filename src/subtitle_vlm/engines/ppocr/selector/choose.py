"""Turn per-line subtitle probabilities into the subtitle: which lines, in which order, as text.

The line model scores every detected line (with its neighbours as features); the best one, if at least the
model's threshold, anchors the subtitle. ``assemble`` grows it with the pair model (pairs.py): the
neighbours that belong to the same subtitle, up to ``max_lines`` rows. ``choose_lines`` is the choice for a
model without a pair part (too few pairs to learn one): candidate rows stacked right above or below the
anchor join it. Parts of one row are read left to right. Everything else is rejected with its score, so a
caller sees why.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from subtitle_vlm.engines.ppocr.detection import Detection, Row, Selection

# Geometry that makes two detections one row / two rows one block. These describe how PP-OCR boxes text
# (a line split at a wide gap keeps its baseline; two lines of one subtitle are set one line apart), not
# any frame set, so they are fixed rather than learned.
SAME_ROW_DY = 0.35      # centres within this many line heights: one row
STACK_GAP = 1.0         # rows at most this many line heights apart: one block
STACK_HEIGHT_RATIO = 1.45


def _rows(dets: Sequence[Detection]) -> list[Row]:
    rows: list[Row] = []
    for d in sorted(dets, key=lambda d: d.cy):
        for r in rows:
            h = min(d.height, r.height)
            if abs(d.cy - r.cy) <= SAME_ROW_DY * h:
                r.parts.append(d)
                r.parts.sort(key=lambda p: p.box[0])
                break
        else:
            rows.append(Row([d]))
    return sorted(rows, key=lambda r: r.cy)


def _stacks(upper: Row, lower: Row) -> bool:
    h = min(upper.height, lower.height)
    if max(upper.height, lower.height) > STACK_HEIGHT_RATIO * h:
        return False
    if not -0.3 * h <= lower.box[1] - upper.box[3] <= STACK_GAP * h:
        return False
    return min(upper.box[2], lower.box[2]) > max(upper.box[0], lower.box[0])  # they overlap across


def choose_lines(dets: Sequence[Detection], probs: np.ndarray, threshold: float, max_lines: int = 2
                 ) -> tuple[list[Row], list[tuple[str, str]]]:
    """(the subtitle's rows top to bottom, [(text, why) for every other detection])."""
    probs = np.asarray(probs, dtype=np.float64)
    order = list(np.argsort(-probs))
    keep = [i for i in order if probs[i] >= threshold and dets[i].text.strip()]
    rejected = [(dets[i].text, f"score {probs[i]:.2f} < {threshold:.2f}") for i in order if i not in keep]
    if not keep:
        return [], rejected
    prob_of = {id(dets[i]): float(probs[i]) for i in keep}
    rows = _rows([dets[i] for i in keep])
    anchor = next(r for r in rows if any(p is dets[keep[0]] for p in r.parts))
    block = [anchor]
    grew = True
    while grew and len(block) < max_lines:
        grew = False
        cands = [r for r in rows if r not in block and (_stacks(r, block[0]) or _stacks(block[-1], r))]
        if cands:
            best = max(cands, key=lambda r: max(prob_of[id(p)] for p in r.parts))
            block.append(best)
            block.sort(key=lambda r: r.cy)
            grew = True
    chosen = {id(p) for r in block for p in r.parts}
    rejected += [(dets[i].text, f"score {probs[i]:.2f}, not part of the chosen block")
                 for i in keep if id(dets[i]) not in chosen]
    return block, rejected


def assemble(dets: Sequence[Detection], probs: np.ndarray, model, strips, width: int, height: int,
             max_lines: int = 2) -> tuple[list[Row], list[tuple[str, str]]]:
    """The subtitle grown from its best line with the pair model: the line scoring highest (at least the
    model's threshold) anchors it; the neighbour the pair model most believes belongs (at least its
    threshold) joins, and so on, while the lines stay within ``max_lines`` rows."""
    from subtitle_vlm.engines.ppocr.selector.pairs import frame_pairs

    probs = np.asarray(probs, dtype=np.float64)
    order = [i for i in np.argsort(-probs) if dets[i].text.strip()]
    if not order or probs[order[0]] < model.threshold:
        return [], [(dets[i].text, f"score {probs[i]:.2f} < {model.threshold:.2f}") for i in np.argsort(-probs)]
    members, refused = [int(order[0])], set()
    why: dict[int, str] = {}
    while True:
        X, idx = frame_pairs(dets, probs, strips, width, height, members)
        keep = [k for k, (_, j) in enumerate(idx) if j not in members and j not in refused]
        if not keep:
            break
        pp = model.pair.predict_proba(X[keep])
        best: dict[int, float] = {}
        for k, p in zip(keep, pp):
            j = idx[k][1]
            best[j] = max(best.get(j, 0.0), float(p))
        j, p = max(best.items(), key=lambda t: t[1])
        for jj, pj in best.items():
            why[jj] = f"score {probs[jj]:.2f}, belongs with the subtitle {pj:.2f}"
        if p < model.pair.threshold:
            break
        if len(_rows([dets[m] for m in members + [j]])) > max_lines:
            refused.add(j)
            why[j] = f"score {probs[j]:.2f}, would make more than {max_lines} lines"
            continue
        members.append(j)
    block = _rows([dets[m] for m in members])
    rejected = [(dets[i].text, why.get(int(i), f"score {probs[i]:.2f}, not part of the chosen subtitle"))
                for i in np.argsort(-probs) if int(i) not in members]
    return block, rejected


def selection_of(block: list[Row], rejected, text: str, dets: Sequence[Detection] = ()) -> Selection:
    chosen = {id(p) for r in block for p in r.parts} if text else set()
    others = [(d.box, d.text) for d in dets if id(d) not in chosen]
    if not block or not text:
        return Selection("", None, [], rejected, others)
    boxes = [r.box for r in block]
    box = (int(min(b[0] for b in boxes)), int(min(b[1] for b in boxes)),
           int(round(max(b[2] for b in boxes))), int(round(max(b[3] for b in boxes))))
    return Selection(text, box, block, rejected, others)


__all__ = ["assemble", "choose_lines", "selection_of"]
