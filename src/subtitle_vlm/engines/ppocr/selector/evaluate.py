"""How well a selector reads cached frames: the competition metric and the failures that matter on air.

- ``mean_levenshtein`` (per frame, unnormalised: the competition's), ``cer``, ``exact``;
- ``wrong_element``: frames whose output holds a line of another element (ticker, tag, logo, caption,
  scene text), by the frame record's boxes;
- ``dropped``: frames with a subtitle whose output is empty;
- ``invented_punct_per_100``: punctuation marks in the output beyond those in the gold text, per 100 frames.

Whitespace is compared as one ASCII space per run on both sides: a gap shown between two phrases (a
Taiwan-style comma) is a space whatever code point the label gives it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence

from subtitle_vlm.engines.ppocr.detection import Selection
from subtitle_vlm.engines.ppocr.selector.labels import detection_roles, record_elements

_WS = re.compile(r"\s+")

PUNCT = set("，。、！？：；…「」『』（）,.!?:;()")


def invented_marks(pred: str, gold: str) -> int:
    p = Counter(c for c in pred if c in PUNCT)
    g = Counter(c for c in gold if c in PUNCT)
    return sum((p - g).values())


def summarise(items: Sequence[dict]) -> dict:
    """``items``: one dict per frame with ``gold``, ``pred`` and optionally ``wrong_element`` (bool)."""
    from rapidfuzz.distance import Levenshtein

    items = [{**it, "gold": _WS.sub(" ", it["gold"]).strip(), "pred": _WS.sub(" ", it["pred"]).strip()}
             for it in items]
    n = len(items)
    if not n:
        return {"frames": 0}
    lev = [Levenshtein.distance(it["pred"], it["gold"]) for it in items]
    chars = sum(len(it["gold"]) for it in items)
    with_sub = [it for it in items if it["gold"]]
    return {
        "frames": n,
        "mean_levenshtein": round(sum(lev) / n, 4),
        "cer": round(sum(lev) / max(1, chars), 4),
        "exact": round(sum(1 for d in lev if d == 0) / n, 4),
        "wrong_element": round(sum(1 for it in items if it.get("wrong_element")) / n, 4),
        "dropped": round(sum(1 for it in with_sub if not it["pred"]) / max(1, len(with_sub)), 4),
        "invented_punct_per_100": round(100 * sum(invented_marks(it["pred"], it["gold"]) for it in items) / n, 2),
    }


def chosen_roles(sel: Selection, record: dict) -> list[str]:
    boxes = [p.box for r in sel.lines for p in r.parts]
    return detection_roles(boxes, record_elements(record))


def evaluate_rows(rows: Sequence[dict], select: Callable[[dict], Selection]) -> tuple[dict, list[dict]]:
    """Run ``select(row) -> Selection`` over cached rows; (summary, per-frame items)."""
    items = []
    for row in rows:
        sel = select(row)
        roles = chosen_roles(sel, row["record"]) if sel.text else []
        items.append({"id": row["id"], "gold": row["record"].get("text") or "", "pred": sel.text,
                      "wrong_element": any(r not in ("subtitle", "none") for r in roles)})
    return summarise(items), items


__all__ = ["PUNCT", "chosen_roles", "evaluate_rows", "invented_marks", "summarise"]
