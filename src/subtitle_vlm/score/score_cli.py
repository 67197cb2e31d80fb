"""subtitle-vlm score --gold gold.csv --pred pred.csv [--normalize none|width|punct|script] [--json]

Scores a Kaggle CSV of predictions against gold (a CSV, or a labelled frame set whose metadata.jsonl gives
each frame's text): mean Levenshtein per row (the competition metric), CER,
exact match, missing and extra ids, and the worst rows. Markdown by default; --json for machines;
--out FILE writes the report too (.json or .md by its suffix).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from subtitle_vlm.config import parse_config
from subtitle_vlm.io import (InputError, atomic_write_text, check_output, check_writable_dir, json_object_with,
                             read_csv_predictions, read_frame_set)
from subtitle_vlm.text.metrics import REPORT_HEAD, ScoreReport, score_predictions


@dataclass
class ScoreConfig:
    gold: str = field(default="", metadata={"help": "gold CSV (id,text), or a frame set folder with labels"})
    pred: str = field(default="", metadata={"help": "prediction CSV (id,text)"})
    normalize: Literal["none", "width", "punct", "script"] = field(default="none", metadata={
        "help": "normalisation profile applied to both sides (none is the competition metric)"})
    json: bool = field(default=False, metadata={"help": "print JSON instead of Markdown"})
    worst: int = field(default=10, metadata={"help": "how many worst rows to list"})
    out: str | None = field(default=None, metadata={"help": "also write the report here (.json or .md)"})
    overwrite: bool = field(default=False, metadata={
        "help": "replace a file at --out that is not a score report (by default refused)"})

    def validate(self) -> None:
        if not self.gold or not self.pred:
            raise InputError("--gold and --pred are required: the two id,text CSV files to compare")
        if self.worst < 0:
            raise InputError(f"--worst {self.worst}: give 0 or more rows to list")


def _warnings(report: ScoreReport) -> list[str]:
    out = []
    if report.missing and report.extra and len(report.missing) == report.n:
        out.append(f"score: no predicted id matches a gold id (gold {report.missing[0]!r}, predicted "
                   f"{report.extra[0]!r}); ids are image file names without the extension")
    if report.missing:
        out.append(f"score: {len(report.missing)} gold ids have no prediction (scored as empty), "
                   f"e.g. {report.missing[0]}")
    if report.extra:
        out.append(f"score: {len(report.extra)} predicted ids are not in gold (ignored), e.g. {report.extra[0]}")
    return out


def load_gold(path: str) -> dict[str, str]:
    """Gold labels from an ``id,text`` CSV, or from a frame set (every frame must carry its ``text``)."""
    if not Path(path).is_dir():
        return read_csv_predictions(path)
    frames = read_frame_set(path)
    unlabelled = [f.id for f in frames if f.text is None]
    if unlabelled:
        raise InputError(f"{path}: {len(unlabelled)} frames have no 'text' label (e.g. {unlabelled[0]}); "
                         "gold needs a metadata.jsonl with file_name and text for every frame, or a gold CSV")
    return {f.id: f.text for f in frames}


def _is_report(path: Path) -> bool:
    """A report score wrote earlier: the JSON form, or the Markdown one (which opens with its table)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        return json_object_with("rows", "cer", "mean_levenshtein")(path)
    return text.startswith(REPORT_HEAD)


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(ScoreConfig, argv, prog="subtitle-vlm score", description=__doc__)
    if cfg.out:
        check_output(cfg.out, flag="--out", command="score", inputs=[("--gold", cfg.gold), ("--pred", cfg.pred)],
                     suffixes=(".json", ".md"), kind="score report", overwrite=cfg.overwrite, ours=_is_report)
        check_writable_dir(Path(cfg.out).resolve().parent)
    gold = load_gold(cfg.gold)
    if not gold:
        raise InputError(f"{cfg.gold}: no rows under the header; the gold file needs one 'id,text' row per frame")
    report = score_predictions(gold, read_csv_predictions(cfg.pred), cfg.normalize)
    as_json = json.dumps(report.as_dict(cfg.worst), ensure_ascii=False, indent=2)
    print(as_json if cfg.json else report.to_markdown(cfg.worst))
    for line in _warnings(report):
        print(line, file=sys.stderr)
    if cfg.out:
        atomic_write_text(cfg.out, as_json + "\n" if cfg.out.endswith(".json") else report.to_markdown(cfg.worst))
    return 0
