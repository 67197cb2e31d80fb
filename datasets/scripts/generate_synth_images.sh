#!/usr/bin/env bash
# datasets/scripts/generate_synth_images.sh [--out DIR] [--count N] [--seed S] [--workers W] [--backgrounds DIR]
#     [--sentences FILE] [--fonts PATH ...] [--size WxH] [--style tv|clean|hard] [any other `subtitle-vlm synth` option]
#
# Synthesise subtitle frames (a frame set: images + metadata.jsonl) with `subtitle-vlm synth`.
# Every setting is a flag or an environment variable; flags win over variables:
#   SYNTH_OUT (default: <repo>/data/synth)  SYNTH_COUNT (1000)  SYNTH_SEED (0)
#   SYNTH_WORKERS (number of CPUs)  SYNTH_BACKGROUNDS  SYNTH_SENTENCES  SYNTH_FONTS (space-separated paths)
#   SYNTH_SIZE (1280x720)  SYNTH_STYLE (tv)
# Runs from any directory; uses <repo>/.venv when it exists. Rerun the same command to resume.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
fi

if [[ -x "$ROOT/.venv/bin/python" ]]; then
    SYNTH=("$ROOT/.venv/bin/python" -m subtitle_vlm synth)
elif command -v subtitle-vlm >/dev/null 2>&1; then
    SYNTH=(subtitle-vlm synth)
else
    SYNTH=(python3 -m subtitle_vlm synth)
fi

cpus="$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)"
args=(
    --out "${SYNTH_OUT:-$ROOT/data/synth}"
    --count "${SYNTH_COUNT:-1000}"
    --seed "${SYNTH_SEED:-0}"
    --workers "${SYNTH_WORKERS:-$cpus}"
    --size "${SYNTH_SIZE:-1280x720}"
    --style "${SYNTH_STYLE:-tv}"
)
[[ -n "${SYNTH_BACKGROUNDS:-}" ]] && args+=(--backgrounds "$SYNTH_BACKGROUNDS")
[[ -n "${SYNTH_SENTENCES:-}" ]] && args+=(--sentences "$SYNTH_SENTENCES")
if [[ -n "${SYNTH_FONTS:-}" ]]; then
    read -r -a fonts <<< "$SYNTH_FONTS"
    args+=(--fonts "${fonts[@]}")
fi

# Flags given here come last, so argparse lets them override the variables above.
exec "${SYNTH[@]}" "${args[@]}" "$@"
