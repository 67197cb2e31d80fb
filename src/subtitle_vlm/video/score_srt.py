"""subtitle-vlm score-srt --gold gold.srt --pred pred.srt [--fps 25] [--normalize none|width|punct|script] [--json] [--out report.md]

Score a predicted cue list (SRT, WebVTT or JSON) against a gold one: cues matched one-to-one by time
(IoU >= --min-iou), precision and recall, CER and mean Levenshtein of the matched cues' text, start and
end errors (median, p95; in frames too with --fps), split and duplicated cues, and the missed and spurious
cues. Markdown by default; --json for machines; --out writes the report too (.json or .md by suffix).
"""

from __future__ import annotations

import argparse
import json

from subtitle_vlm.io import InputError, atomic_write_text
from subtitle_vlm.text.normalize import PROFILES
from subtitle_vlm.video.srt import read_cues
from subtitle_vlm.video.srt_metrics import score_cues


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="subtitle-vlm score-srt", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gold", required=True, help="gold cue file (.srt, .vtt or .json)")
    p.add_argument("--pred", required=True, help="predicted cue file (.srt, .vtt or .json)")
    p.add_argument("--min-iou", type=float, default=0.5, help="time IoU a matched pair needs (default 0.5)")
    p.add_argument("--fps", type=float, default=None, help="video frame rate: also report errors in frames")
    p.add_argument("--normalize", default="none", choices=PROFILES, help="text normalisation (default none)")
    p.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    p.add_argument("--list", type=int, default=10, help="how many missed / spurious / wrong cues to list")
    p.add_argument("--out", help="also write the report here (.json or .md)")
    a = p.parse_args(argv)
    if not 0.0 < a.min_iou <= 1.0:
        raise InputError("--min-iou must be in (0, 1]")
    if a.fps is not None and a.fps <= 0:
        raise InputError("--fps must be positive")
    report = score_cues(read_cues(a.gold), read_cues(a.pred), min_iou=a.min_iou, profile=a.normalize, fps=a.fps)
    as_json = json.dumps(report.as_dict(a.list), ensure_ascii=False, indent=2)
    print(as_json if a.json else report.to_markdown(a.list), end="" if not a.json else "\n")
    if a.out:
        atomic_write_text(a.out, as_json + "\n" if a.out.endswith(".json") else report.to_markdown(a.list))
    return 0
