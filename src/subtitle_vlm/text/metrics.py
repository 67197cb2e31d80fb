"""Scoring predictions against gold: edit distances over text, used by `score` and by every stage that
measures a reading during training (native trainer, recogniser fine-tuning).

- mean Levenshtein: the competition's "CER" - the unnormalised edit distance per row, averaged over rows.
- CER: total edit distance / total reference characters (rows with an empty reference count their
  insertions in the numerator).
- exact match: share of rows whose normalised strings are equal.

A gold id missing from the predictions scores as an empty prediction (every reference character deleted);
prediction ids absent from gold are reported and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rapidfuzz.distance import Levenshtein

from subtitle_vlm.io import natural_key
from subtitle_vlm.text.normalize import normalize

# The first line of the Markdown report; score --out recognises its own earlier report by it.
REPORT_HEAD = "| rows | mean Levenshtein | CER | exact match | missing ids | extra ids | normalize |"


def levenshtein(a: str, b: str) -> int:
    return Levenshtein.distance(a, b)


def _rate(dist: int, total: int) -> float:
    # With no reference characters at all, any insertion is a full error and none is perfect.
    return dist / total if total else float(dist > 0)


def cer(refs: list[str], hyps: list[str]) -> float:
    return _rate(sum(levenshtein(r, h) for r, h in zip(refs, hyps, strict=True)), sum(len(r) for r in refs))


@dataclass
class RowScore:
    id: str
    gold: str
    pred: str
    distance: int


@dataclass
class ScoreReport:
    profile: str
    rows: list[RowScore]
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def mean_levenshtein(self) -> float:
        return sum(r.distance for r in self.rows) / self.n if self.n else 0.0

    @property
    def cer(self) -> float:
        return _rate(sum(r.distance for r in self.rows), sum(len(r.gold) for r in self.rows))

    @property
    def exact_match(self) -> float:
        return sum(r.distance == 0 for r in self.rows) / self.n if self.n else 0.0

    def worst(self, k: int = 10) -> list[RowScore]:
        return sorted(self.rows, key=lambda r: (-r.distance, natural_key(r.id)))[:k]

    def as_dict(self, worst: int = 10) -> dict:
        return {
            "rows": self.n,
            "normalize": self.profile,
            "mean_levenshtein": round(self.mean_levenshtein, 6),
            "cer": round(self.cer, 6),
            "exact_match": round(self.exact_match, 6),
            "missing_ids": len(self.missing),
            "extra_ids": len(self.extra),
            "missing": self.missing[:50],
            "extra": self.extra[:50],
            "worst": [{"id": r.id, "gold": r.gold, "pred": r.pred, "distance": r.distance}
                      for r in self.worst(worst) if r.distance > 0],
        }

    def to_markdown(self, worst: int = 10) -> str:
        def cell(s: str) -> str:
            # a table row is one line: show line breaks (CSV allows them in quoted text) as \n
            return s.replace("\\", "\\\\").replace("|", "\\|").replace("\r", "\\r").replace("\n", "\\n") or "∅"

        lines = [
            REPORT_HEAD,
            "|---:|---:|---:|---:|---:|---:|---|",
            f"| {self.n} | {self.mean_levenshtein:.4f} | {self.cer:.4f} | {self.exact_match:.2%} | "
            f"{len(self.missing)} | {len(self.extra)} | {self.profile} |",
        ]
        bad = [r for r in self.worst(worst) if r.distance > 0]
        if bad:
            lines += ["", f"Worst {len(bad)} rows:", "", "| id | distance | gold | prediction |", "|---|---:|---|---|"]
            lines += [f"| {cell(r.id)} | {r.distance} | {cell(r.gold)} | {cell(r.pred)} |" for r in bad]
        return "\n".join(lines) + "\n"


def score_predictions(gold: dict[str, str], pred: dict[str, str], profile: str = "none") -> ScoreReport:
    rows = []
    missing = []
    for gid in sorted(gold, key=natural_key):
        g = normalize(gold[gid], profile)
        if gid in pred:
            p = normalize(pred[gid], profile)
        else:
            missing.append(gid)
            p = ""
        rows.append(RowScore(gid, g, p, levenshtein(g, p)))
    extra = sorted((k for k in pred if k not in gold), key=natural_key)
    return ScoreReport(profile, rows, missing, extra)
