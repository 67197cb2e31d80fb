#!/usr/bin/env bash
# datasets/scripts/generate_json_datasets.sh [--input FRAMESET_OR_TSV] [--out DIR] [any `subtitle-vlm dataset` flag ...]
#
# Exports a labelled frame set (or the original TSV + image folder) as the train/val files of every
# trainer: MiniCPM-V, TinyLLaVA, messages (ms-swift / LLaMA-Factory / native), imagefolder, gold CSV.
# Settings come from flags or environment variables (flags win), nothing to edit here:
#   INPUT        frame set folder or TSV file              (default: data/synth under the repository)
#   OUT          output folder                             (default: data/json under the repository)
#   IMAGES       image folder of a TSV input               (default: the TSV's folder)
#   TRAIN_RATIO  share of samples in train                 (default: 0.9)
#   SEED         seed of the train/val shuffle             (default: 0)
#   PROMPT       instruction in every sample               (default: the built-in Traditional Chinese one)
#   FORMATS      all, or e.g. minicpmv,tinyllava           (default: all)
# Relative paths are taken from the directory you run it in. Uses the repository's .venv when present.
# Then check a file:  subtitle-vlm dataset --check OUT/minicpmv/train.json
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [[ -x "$ROOT/.venv/bin/python" ]]; then
  RUN=("$ROOT/.venv/bin/python" -m subtitle_vlm)
elif command -v subtitle-vlm >/dev/null 2>&1; then
  RUN=(subtitle-vlm)
else
  RUN=(python3 -m subtitle_vlm)
fi

args=(--input "${INPUT:-$ROOT/data/synth}" --out "${OUT:-$ROOT/data/json}"
      --train-ratio "${TRAIN_RATIO:-0.9}" --seed "${SEED:-0}" --formats "${FORMATS:-all}")
[[ -n "${IMAGES:-}" ]] && args+=(--images "$IMAGES")
[[ -n "${PROMPT:-}" ]] && args+=(--prompt "$PROMPT")

# Flags given on the command line come after the defaults, and argparse keeps the last value.
exec "${RUN[@]}" dataset "${args[@]}" "$@"
