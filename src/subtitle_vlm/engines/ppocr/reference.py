"""Reference selectors the PP-OCR benchmark measures the engine against (bench/ppocr_accuracy.py):
every line, the naive bottom-centre rule, and the oracle that picks the best of PP-OCR's own lines."""

from __future__ import annotations

from collections.abc import Sequence

from subtitle_vlm.engines.ppocr.detection import Detection


def reading_order(dets: Sequence[Detection]) -> list[Detection]:
    """Top to bottom, then left to right among boxes whose centres sit within half a line of each other."""
    out = sorted(dets, key=lambda d: d.cy)
    rows: list[list[Detection]] = []
    for d in out:
        if rows and abs(d.cy - rows[-1][0].cy) <= 0.5 * min(d.height, rows[-1][0].height):
            rows[-1].append(d)
        else:
            rows.append([d])
    return [d for row in rows for d in sorted(row, key=lambda d: d.box[0])]


def select_all(dets: Sequence[Detection]) -> str:
    """Every detected line in reading order: what a reader with no selection returns."""
    return " ".join(d.text.strip() for d in reading_order(dets)).strip()


def select_naive(dets: Sequence[Detection], width: int, height: int, bottom: float = 0.4,
                 centre: float = 0.25) -> str:
    """Lines whose centre is in the bottom ``bottom`` of the frame and within ``centre`` widths of the midline."""
    keep = [d for d in dets if d.cy >= (1 - bottom) * height
            and abs((d.box[0] + d.box[2]) / 2 - width / 2) <= centre * width]
    return "".join(d.text.strip() for d in reading_order(keep))


def select_oracle(dets: Sequence[Detection], gold: str) -> str:
    """The reading closest to ``gold`` that picks among these lines: any contiguous run of lines in reading
    order, or any two lines top first (a subtitle's two lines can have scene text between them in reading
    order); "" competes too. The ceiling of any selector over PP-OCR's own lines."""
    from rapidfuzz.distance import Levenshtein

    lines = [d.text.strip() for d in reading_order(dets)]
    cands = {""}
    for i in range(len(lines)):
        for j in range(i + 1, len(lines) + 1):
            cands.add("".join(lines[i:j]))
            cands.add(" ".join(lines[i:j]))
        for j in range(i + 1, len(lines)):
            cands.add(lines[i] + lines[j])
    best, best_d = "", len(gold)
    for cand in sorted(cands):
        dist = Levenshtein.distance(cand, gold, score_cutoff=best_d)
        if dist < best_d:
            best, best_d = cand, dist
    return best
