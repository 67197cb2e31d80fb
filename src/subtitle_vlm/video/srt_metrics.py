"""Scoring a predicted cue list against a gold one.

- Matching: one-to-one by time, greedily by intersection-over-union, pairs with IoU >= ``min_iou`` (0.5).
  With IoU above one half a predicted cue can overlap only one gold cue that much, so greedy is exact
  unless gold cues overlap each other.
- Precision = matched / predicted cues, recall = matched / gold cues.
- Text of matched pairs: CER (total edit distance / total gold characters), mean Levenshtein, exact match.
- Timing of matched pairs: |start error| and |end error| in seconds (median, p95, max); ``boundary`` pools
  both. With ``fps`` the same in frames.
- Split and duplicated cues: a predicted cue *belongs* to a gold cue when at least half of it lies inside
  the gold cue and its text is similar (normalised edit similarity >= 0.5). A gold cue with two or more
  belonging predictions is *split*; every belonging prediction past the first is a *duplicate*.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from rapidfuzz.distance import Levenshtein

from subtitle_vlm.text.normalize import normalize
from subtitle_vlm.video.srt import Cue, format_timestamp


def overlap(a: Cue, b: Cue) -> float:
    return max(0.0, min(a.end, b.end) - max(a.start, b.start))


def iou(a: Cue, b: Cue) -> float:
    inter = overlap(a, b)
    union = max(a.end, b.end) - min(a.start, b.start)
    return inter / union if union > 0 else float(a.start == b.start)


def text_similarity(a: str, b: str) -> float:
    return Levenshtein.normalized_similarity(a, b)


def _stats(values: list[float]) -> dict:
    if not values:
        return {"median": None, "p95": None, "mean": None, "max": None}
    v = np.asarray(values, dtype=float)
    return {"median": round(float(np.median(v)), 4), "p95": round(float(np.percentile(v, 95)), 4),
            "mean": round(float(v.mean()), 4), "max": round(float(v.max()), 4)}


@dataclass
class Pair:
    gold: int
    pred: int
    iou: float
    distance: int
    start_error: float  # pred - gold, seconds
    end_error: float


@dataclass
class SrtReport:
    gold: list[Cue]
    pred: list[Cue]
    pairs: list[Pair]
    split_gold: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    fps: float | None = None
    profile: str = "none"
    min_iou: float = 0.5

    @property
    def precision(self) -> float:
        return len(self.pairs) / len(self.pred) if self.pred else float(not self.gold)

    @property
    def recall(self) -> float:
        return len(self.pairs) / len(self.gold) if self.gold else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def _text(self, c: Cue) -> str:
        return normalize(" ".join(c.text.split()), self.profile)

    @property
    def cer(self) -> float | None:
        if not self.pairs:
            return None
        total = sum(len(self._text(self.gold[p.gold])) for p in self.pairs)
        return sum(p.distance for p in self.pairs) / max(total, 1)

    @property
    def mean_levenshtein(self) -> float | None:
        return sum(p.distance for p in self.pairs) / len(self.pairs) if self.pairs else None

    def missed(self) -> list[int]:
        got = {p.gold for p in self.pairs}
        return [i for i in range(len(self.gold)) if i not in got]

    def spurious(self) -> list[int]:
        got = {p.pred for p in self.pairs}
        return [i for i in range(len(self.pred)) if i not in got]

    def as_dict(self, listed: int = 20) -> dict:
        start = [abs(p.start_error) for p in self.pairs]
        end = [abs(p.end_error) for p in self.pairs]
        d = {
            "gold_cues": len(self.gold), "pred_cues": len(self.pred), "matched": len(self.pairs),
            "precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4),
            "cer": None if self.cer is None else round(self.cer, 4),
            "mean_levenshtein": None if self.mean_levenshtein is None else round(self.mean_levenshtein, 4),
            "exact_match": round(sum(p.distance == 0 for p in self.pairs) / len(self.pairs), 4) if self.pairs else None,
            "start_error_s": _stats(start), "end_error_s": _stats(end), "boundary_error_s": _stats(start + end),
            "split_cues": len(self.split_gold), "duplicated_cues": len(self.duplicates),
            "min_iou": self.min_iou, "normalize": self.profile,
        }
        if self.fps:
            d["fps"] = self.fps
            d["boundary_error_frames"] = _stats([e * self.fps for e in start + end])
        d["missed"] = [self._row(self.gold[i]) for i in self.missed()[:listed]]
        d["spurious"] = [self._row(self.pred[i]) for i in self.spurious()[:listed]]
        worst = sorted((p for p in self.pairs if p.distance), key=lambda p: -p.distance)[:listed]
        d["worst_text"] = [{"gold": self.gold[p.gold].text, "pred": self.pred[p.pred].text, "distance": p.distance,
                            "start": round(self.gold[p.gold].start, 3)} for p in worst]
        return d

    @staticmethod
    def _row(c: Cue) -> dict:
        return {"start": round(c.start, 3), "end": round(c.end, 3), "text": c.text}

    def to_markdown(self, listed: int = 10) -> str:
        d = self.as_dict(listed)

        def f(v, fmt="{:.4f}"):
            return "-" if v is None else fmt.format(v)

        b = d["boundary_error_s"]
        lines = [
            "| gold | pred | matched | precision | recall | CER | mean Levenshtein | split | duplicated |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {d['gold_cues']} | {d['pred_cues']} | {d['matched']} | {d['precision']:.4f} | {d['recall']:.4f} | "
            f"{f(d['cer'])} | {f(d['mean_levenshtein'])} | {d['split_cues']} | {d['duplicated_cues']} |",
            "",
            "| boundary error (s) | median | p95 | max |",
            "|---|---:|---:|---:|",
        ]
        for name, key in (("start", "start_error_s"), ("end", "end_error_s"), ("both", "boundary_error_s")):
            s = d[key]
            lines.append(f"| {name} | {f(s['median'], '{:.3f}')} | {f(s['p95'], '{:.3f}')} | {f(s['max'], '{:.3f}')} |")
        if self.fps and b["median"] is not None:
            bf = d["boundary_error_frames"]
            lines.append(f"| both, frames at {self.fps:g} fps | {bf['median']:.2f} | {bf['p95']:.2f} | {bf['max']:.2f} |")

        def cell(s: str) -> str:
            return s.replace("|", "\\|").replace("\n", " ") or "∅"

        for title, key in (("Missed gold cues", "missed"), ("Predicted cues matching no gold cue", "spurious")):
            if d[key]:
                lines += ["", f"{title}:", "", "| start | end | text |", "|---|---|---|"]
                lines += [f"| {format_timestamp(r['start'])} | {format_timestamp(r['end'])} | {cell(r['text'])} |"
                          for r in d[key]]
        if d["worst_text"]:
            lines += ["", "Matched cues with text errors:", "", "| start | distance | gold | prediction |",
                      "|---|---:|---|---|"]
            lines += [f"| {format_timestamp(r['start'])} | {r['distance']} | {cell(r['gold'])} | {cell(r['pred'])} |"
                      for r in d["worst_text"]]
        return "\n".join(lines) + "\n"


def score_cues(gold: list[Cue], pred: list[Cue], *, min_iou: float = 0.5, profile: str = "none",
               fps: float | None = None) -> SrtReport:
    gold = sorted(gold, key=lambda c: (c.start, c.end))
    pred = sorted(pred, key=lambda c: (c.start, c.end))
    report = SrtReport(gold, pred, [], fps=fps, profile=profile, min_iou=min_iou)
    candidates = []
    j0 = 0
    for gi, g in enumerate(gold):
        while j0 < len(pred) and pred[j0].end <= g.start:
            j0 += 1
        for pj in range(j0, len(pred)):
            p = pred[pj]
            if p.start >= g.end:
                break
            v = iou(g, p)
            if v >= min_iou:
                candidates.append((v, gi, pj))
    used_g, used_p = set(), set()
    for v, gi, pj in sorted(candidates, key=lambda x: (-x[0], x[1], x[2])):
        if gi in used_g or pj in used_p:
            continue
        used_g.add(gi)
        used_p.add(pj)
        g, p = gold[gi], pred[pj]
        dist = Levenshtein.distance(report._text(g), report._text(p))
        report.pairs.append(Pair(gi, pj, v, dist, p.start - g.start, p.end - g.end))
    report.pairs.sort(key=lambda p: p.gold)
    for gi, g in enumerate(gold):
        pieces = [pj for pj, p in enumerate(pred)
                  if p.duration > 0 and overlap(g, p) >= 0.5 * p.duration
                  and text_similarity(report._text(g), report._text(p)) >= 0.5]
        if len(pieces) >= 2:
            report.split_gold.append(gi)
            report.duplicates.extend(pieces[1:])
    return report


__all__ = ["SrtReport", "Pair", "score_cues", "iou", "overlap"]
