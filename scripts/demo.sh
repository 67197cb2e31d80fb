#!/usr/bin/env bash
# ./scripts/demo.sh [OUT_DIR]
#
# Sets up .venv (idempotent), then runs the whole pipeline on built-in assets, each step printed as the
# command you would type:
#   synth a small frame set -> export every dataset format -> preview grid -> train a tiny VLM (LoRA)
#   -> merge -> predict the validation split -> PP-OCR baseline on the same frames -> score -> report.
# The tiny model is random and small: it proves the plumbing on a CPU in minutes; the PP-OCR row shows
# what a real reader scores. Settings: DEMO_FRAMES (default 48), DEMO_STEPS (default 500), DEMO_FAMILY
# (default qwen2_vl).
set -euo pipefail
case "${1:-}" in -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;; esac
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${1:-demo_out}
FRAMES=${DEMO_FRAMES:-48}
STEPS=${DEMO_STEPS:-500}
FAMILY=${DEMO_FAMILY:-qwen2_vl}

./setup_envs.sh
export PATH="$ROOT/.venv/bin:$PATH" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$OUT"
step() { echo; echo "\$ $*"; "$@"; }
t0=$(date +%s)

step subtitle-vlm synth --out "$OUT/frames" --count "$FRAMES" --seed 0 --workers 2
step subtitle-vlm preview --input "$OUT/frames" --out "$OUT/preview.png" --count 12
step subtitle-vlm dataset --input "$OUT/frames" --out "$OUT/data" --train-ratio 0.75 --seed 0
step subtitle-vlm train --model_name_or_path "tiny:$FAMILY" --train_data "$OUT/data/messages/train.jsonl" \
  --eval_data "$OUT/data/messages/val.jsonl" --output_dir "$OUT/run" --crop bottom=0.3 --max_steps "$STEPS" \
  --per_device_train_batch_size 4 --learning_rate 3e-3 --lora_r 32 --lora_alpha 64 --train_projector true \
  --logging_steps 5 --save_steps "$STEPS" --max_eval_samples 8 --report_to none
step subtitle-vlm merge --adapter "$OUT/run" --out "$OUT/merged" --overwrite
step subtitle-vlm predict --engine hf --model "$OUT/merged" --input "$OUT/data/imagefolder/val" \
  --out "$OUT/run/eval/pred.csv" --batch-size 8
# The same model on the frames it trained on: a random tiny model cannot generalise from 36 frames, but
# it must learn to read those back (the masking, LoRA, merge and generation all have to be right).
step subtitle-vlm predict --engine hf --model "$OUT/merged" --input "$OUT/data/imagefolder/train" \
  --out "$OUT/memorised/pred.csv" --batch-size 8
step subtitle-vlm predict --engine ppocr --input "$OUT/data/imagefolder/val" --out "$OUT/ppocr/pred.csv" --workers 2
step subtitle-vlm score --gold "$OUT/data/gold/val.csv" --pred "$OUT/run/eval/pred.csv" --out "$OUT/run/eval/score.json"
step subtitle-vlm score --gold "$OUT/data/gold/val.csv" --pred "$OUT/ppocr/pred.csv" --out "$OUT/ppocr/score.json"
step subtitle-vlm score --gold "$OUT/data/imagefolder/train" --pred "$OUT/memorised/pred.csv" \
  --out "$OUT/memorised/score.json"
step subtitle-vlm report "$OUT/run" --name "tiny-$FAMILY (LoRA, $STEPS steps)" --score "PP-OCR baseline=$OUT/ppocr/score.json" \
  --score "tiny-$FAMILY on its own training frames=$OUT/memorised/score.json" \
  --out "$OUT/report"
echo
echo "demo: done in $(( $(date +%s) - t0 )) s; open $OUT/report/report.md and $OUT/preview.png"
