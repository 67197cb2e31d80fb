"""subtitle-vlm score --gold gold.csv --pred pred.csv [--normalize none|width|punct|script] [--json]

Scores a Kaggle CSV of predictions against gold: mean Levenshtein per row (the competition metric), CER,
exact match, missing and extra ids, and the worst rows. Markdown by default; --json for machines;
--out FILE writes the report too (.json or .md by its suffix).
"""

from __future__ import annotations

import argparse
import json
import sys

from subtitle_vlm.io import atomic_write_text, read_csv_predictions
from subtitle_vlm.score.metrics import score_predictions
from subtitle_vlm.text.normalize import PROFILES


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="subtitle-vlm score", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gold", required=True, help="gold CSV (id,text)")
    p.add_argument("--pred", required=True, help="prediction CSV (id,text)")
    p.add_argument("--normalize", default="none", choices=PROFILES, help="normalisation profile (default none)")
    p.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    p.add_argument("--worst", type=int, default=10, help="how many worst rows to list")
    p.add_argument("--out", help="also write the report here (.json or .md)")
    a = p.parse_args(argv)
    report = score_predictions(read_csv_predictions(a.gold), read_csv_predictions(a.pred), a.normalize)
    as_json = json.dumps(report.as_dict(a.worst), ensure_ascii=False, indent=2)
    print(as_json if a.json else report.to_markdown(a.worst))
    if report.missing:
        print(f"score: {len(report.missing)} gold ids have no prediction (scored as empty), "
              f"e.g. {report.missing[0]}", file=sys.stderr)
    if report.extra:
        print(f"score: {len(report.extra)} predicted ids are not in gold (ignored), e.g. {report.extra[0]}",
              file=sys.stderr)
    if a.out:
        atomic_write_text(a.out, as_json + "\n" if a.out.endswith(".json") else report.to_markdown(a.worst))
    return 0
