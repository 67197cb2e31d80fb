"""subtitle-vlm synth --out DIR --count N --seed S --workers W [--backgrounds DIR] [--sentences FILE] [--fonts PATH ...] [--size 1280x720] [--style tv|clean|hard]

Render frames with burned-in Traditional Chinese subtitles into a frame set: ``DIR/frame_000001.jpg``...
plus ``DIR/metadata.jsonl`` (one record per frame: ``file_name``, ``text`` - "" when the frame has no
subtitle - and every random choice, so any frame re-renders). The same seed gives the same bytes for any
``--workers``; rerunning the same command after a crash or Ctrl-C resumes, and a larger ``--count``
extends the set. Every effect and layout element has its own option (``--p-shadow 0.3``, ``--p-ticker 0``,
``--p-tag 0.5``, ``--jpeg-quality 60 90``...); unset ones come from ``--style``. ``--subtitle-styles``,
``--text-convention``, ``--font-groups`` and ``--exclude-font-groups`` choose or leave out subtitle looks,
punctuation conventions and typeface groups. ``--config FILE`` reads options from YAML/JSON.

    subtitle-vlm synth --out data/synth --count 1000 --workers 2
    subtitle-vlm synth --out data/hard --count 500 --style hard --backgrounds my_frames/ --fonts fonts/
"""

from __future__ import annotations

import sys

from subtitle_vlm.config import parse_config
from subtitle_vlm.synth.synth_config import SynthConfig


def format_summary(s: dict) -> str:
    lines = [f"synth: {s['frames']} frames in {s['out']} ({s['made']} made now, {s['already_there']} already there; "
             f"{s['frames_per_s']} frames/s with {s['workers']} worker(s))",
             f"  fonts: {', '.join(s['fonts'])}",
             f"  sentences: {s['sentences']} usable; backgrounds: {s['backgrounds']}"]
    sk = s["skipped"]
    if sk.get("sentences"):
        lines.append(f"  sentences skipped: {sk['sentences']}")
        for ex in sk.get("sentence_examples", [])[:3]:
            lines.append(f"    e.g. {ex['sentence']!r}: no font has {ex['missing']!r}")
    for key in ("fonts", "backgrounds"):
        if sk.get(key):
            lines.append(f"  {key} skipped: {len(sk[key])}")
            lines += [f"    {e['path']}: {e['reason']}" for e in sk[key][:10]]
            if len(sk[key]) > 10:
                lines.append(f"    ... (all listed in {s['out']}/synth_summary.json)")
    for key, what in (("rerendered_missing", "missing images re-rendered"),
                      ("repaired_metadata_bytes", "bytes of a partial metadata line cut"),
                      ("removed_temp_files", "temp files of an interrupted run removed"),
                      ("removed_unlisted_images", "images past the last metadata line removed (made again)")):
        if s.get(key):
            lines.append(f"  {what}: {s[key]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(SynthConfig, argv, prog="subtitle-vlm synth", description=__doc__)
    from subtitle_vlm.synth.runner import run_synth

    summary = run_synth(cfg)
    print(format_summary(summary), file=sys.stderr)
    return 0
