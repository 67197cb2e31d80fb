#!/usr/bin/env bash
# bash modification/minicpm/finetune_lora.sh [--dry-run] [--SETTING VALUE ...] [-- EXTRA finetune.py ARGS]
#   (after ./setup_envs.sh --minicpmv it also lies in third_party/MiniCPM-V/finetune/ and runs from there)
#
# LoRA fine-tuning of MiniCPM-Llama3-V-2_5 with upstream finetune/finetune.py (OpenBMB/MiniCPM-V @ 9bd93a2).
# Defaults reproduce the seed run: 2 GPUs, fp16, lr 1e-6, 500 steps, per-device batch 1 x grad-acc 4 (total 8),
# LoRA on the LLM's q/k projections, vision encoder trained, ZeRO-3 with optimizer and parameters offloaded to
# CPU (needs > 32 GB of RAM), model_max_length 2048, max_slice_nums 9.
# Every setting is an environment variable or the flag of the same name (MAX_STEPS=10 or --max-steps 10):
#   GPUS 2  NNODES 1  NODE_RANK 0  MASTER_ADDR localhost  MASTER_PORT 6001
#   MODEL openbmb/MiniCPM-Llama3-V-2_5  LLM_TYPE llama3
#   DATA_DIR <project>/data/json (what datasets/scripts/generate_json_datasets.sh writes)
#   DATA $DATA_DIR/minicpmv/train.json  EVAL_DATA $DATA_DIR/minicpmv/val.json
#   OUTPUT_DIR <project>/runs/minicpmv_lora  LOGGING_DIR $OUTPUT_DIR
#   PRECISION fp16 (fp16 | bf16 | fp32; fp32 for a CPU)  MAX_STEPS 500  EVAL_STEPS 100  SAVE_STEPS 100  SAVE_TOTAL_LIMIT 5
#   BATCH_SIZE 1  EVAL_BATCH_SIZE 1  GRAD_ACC 4  LR 1e-6  WEIGHT_DECAY 0.1  ADAM_BETA2 0.95  WARMUP_RATIO 0.01
#   LR_SCHEDULER cosine  LOGGING_STEPS 1  TUNE_VISION true  TUNE_LLM false  USE_LORA true
#   LORA_TARGET_MODULES 'llm\..*layers\.\d+\.self_attn\.(q_proj|k_proj)'  LORA_R 64  LORA_ALPHA 64
#   LORA_DROPOUT 0.05  MODEL_MAX_LENGTH 2048  MAX_SLICE_NUMS 9  GRADIENT_CHECKPOINTING true
#   DEEPSPEED <this folder>/ds_config_zero3.json (none: plain Trainer, no DeepSpeed)  REPORT_TO tensorboard
#   MINICPMV_DIR <project>/third_party/MiniCPM-V  TORCHRUN <project>/.venv-minicpmv/bin/torchrun
#   TORCH_EXTENSIONS_DIR <venv of TORCHRUN>/torch_extensions (DeepSpeed's cache of the ops it compiles)
# On a machine without GPUs (a smoke test of the real code): GPUS 1, PRECISION fp32, and a DeepSpeed config
# without ZeRO-3 (torch 2.1.2's gloo lacks the all-gather ZeRO-3 uses), e.g. this one at stage 2 with the
# optimizer offload kept. DEEPSPEED none trains, but upstream trainer.py then saves no usable checkpoint.
# --dry-run prints the exact command (absolute paths) and changes nothing. A real run also writes
# $OUTPUT_DIR/run_config.json (base model, prompt of the training data) for merge.py and the minicpmv engine.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
find_root() {  # the project checkout this script belongs to (it may be running from inside the clone)
  local d=$HERE
  while [ "$d" != / ]; do
    if [ -f "$d/setup_envs.sh" ] && [ -d "$d/src/subtitle_vlm" ]; then echo "$d"; return; fi
    d=$(dirname "$d")
  done
  echo ""
}
abspath() { realpath -m -- "$1"; }

SETTINGS="GPUS NNODES NODE_RANK MASTER_ADDR MASTER_PORT MODEL LLM_TYPE DATA_DIR DATA EVAL_DATA OUTPUT_DIR
LOGGING_DIR PRECISION MAX_STEPS EVAL_STEPS SAVE_STEPS SAVE_TOTAL_LIMIT BATCH_SIZE EVAL_BATCH_SIZE GRAD_ACC LR
WEIGHT_DECAY ADAM_BETA2 WARMUP_RATIO LR_SCHEDULER LOGGING_STEPS TUNE_VISION TUNE_LLM USE_LORA
LORA_TARGET_MODULES LORA_R LORA_ALPHA LORA_DROPOUT MODEL_MAX_LENGTH MAX_SLICE_NUMS GRADIENT_CHECKPOINTING
DEEPSPEED REPORT_TO MINICPMV_DIR TORCHRUN PROJECT_ROOT"

DRY=0; EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    --) shift; EXTRA=("$@"); break ;;
    --*)
      key=${1#--}; val=""
      if [[ $key == *=* ]]; then val=${key#*=}; key=${key%%=*}; shift
      else
        [ $# -ge 2 ] || { echo "finetune_lora.sh: $1 needs a value" >&2; exit 2; }
        val=$2; shift 2
      fi
      var=$(echo "$key" | tr 'a-z-' 'A-Z_')
      if ! grep -qw -- "$var" <<<"$SETTINGS"; then
        echo "finetune_lora.sh: unknown setting --$key; settings: $(echo $SETTINGS | tr 'A-Z_' 'a-z-')" >&2; exit 2
      fi
      printf -v "$var" '%s' "$val"; export "${var?}" ;;
    *) echo "finetune_lora.sh: unexpected argument $1 (settings are --name value; finetune.py arguments go after --)" >&2; exit 2 ;;
  esac
done

PROJECT_ROOT=${PROJECT_ROOT:-$(find_root)}
[ -n "$PROJECT_ROOT" ] || { echo "finetune_lora.sh: cannot find the subtitle-vlm checkout above $HERE; set PROJECT_ROOT" >&2; exit 2; }
PROJECT_ROOT=$(abspath "$PROJECT_ROOT")

GPUS=${GPUS:-2}; NNODES=${NNODES:-1}; NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-localhost}; MASTER_PORT=${MASTER_PORT:-6001}
MODEL=${MODEL:-openbmb/MiniCPM-Llama3-V-2_5}; LLM_TYPE=${LLM_TYPE:-llama3}
DATA_DIR=$(abspath "${DATA_DIR:-$PROJECT_ROOT/data/json}")
DATA=$(abspath "${DATA:-$DATA_DIR/minicpmv/train.json}")
EVAL_DATA=$(abspath "${EVAL_DATA:-$DATA_DIR/minicpmv/val.json}")
OUTPUT_DIR=$(abspath "${OUTPUT_DIR:-$PROJECT_ROOT/runs/minicpmv_lora}")
LOGGING_DIR=$(abspath "${LOGGING_DIR:-$OUTPUT_DIR}")
PRECISION=${PRECISION:-fp16}
MAX_STEPS=${MAX_STEPS:-500}; EVAL_STEPS=${EVAL_STEPS:-100}; SAVE_STEPS=${SAVE_STEPS:-100}
SAVE_TOTAL_LIMIT=${SAVE_TOTAL_LIMIT:-5}
BATCH_SIZE=${BATCH_SIZE:-1}; EVAL_BATCH_SIZE=${EVAL_BATCH_SIZE:-1}; GRAD_ACC=${GRAD_ACC:-4}
LR=${LR:-1e-6}; WEIGHT_DECAY=${WEIGHT_DECAY:-0.1}; ADAM_BETA2=${ADAM_BETA2:-0.95}
WARMUP_RATIO=${WARMUP_RATIO:-0.01}; LR_SCHEDULER=${LR_SCHEDULER:-cosine}; LOGGING_STEPS=${LOGGING_STEPS:-1}
TUNE_VISION=${TUNE_VISION:-true}; TUNE_LLM=${TUNE_LLM:-false}; USE_LORA=${USE_LORA:-true}
LORA_TARGET_MODULES=${LORA_TARGET_MODULES:-'llm\..*layers\.\d+\.self_attn\.(q_proj|k_proj)'}
LORA_R=${LORA_R:-64}; LORA_ALPHA=${LORA_ALPHA:-64}; LORA_DROPOUT=${LORA_DROPOUT:-0.05}
MODEL_MAX_LENGTH=${MODEL_MAX_LENGTH:-2048}; MAX_SLICE_NUMS=${MAX_SLICE_NUMS:-9}
GRADIENT_CHECKPOINTING=${GRADIENT_CHECKPOINTING:-true}
DEEPSPEED=${DEEPSPEED:-$HERE/ds_config_zero3.json}
[ "$DEEPSPEED" = none ] || DEEPSPEED=$(abspath "$DEEPSPEED")
REPORT_TO=${REPORT_TO:-tensorboard}
if [ -z "${MINICPMV_DIR:-}" ]; then
  # Running from inside the clone's finetune/ folder: that clone. Else the one setup_envs.sh made.
  if [ -f "$HERE/finetune.py" ]; then MINICPMV_DIR=$(dirname "$HERE"); else MINICPMV_DIR=$PROJECT_ROOT/third_party/MiniCPM-V; fi
fi
MINICPMV_DIR=$(abspath "$MINICPMV_DIR")
TORCHRUN=${TORCHRUN:-$PROJECT_ROOT/.venv-minicpmv/bin/torchrun}
# A local model folder becomes absolute (the command runs elsewhere); anything else is a hub id.
if [ -e "$MODEL" ]; then MODEL=$(abspath "$MODEL"); fi

case "$PRECISION" in
  fp16) FP16=true; BF16=false ;;
  bf16) FP16=false; BF16=true ;;
  fp32) FP16=false; BF16=false ;;
  *) echo "finetune_lora.sh: PRECISION must be fp16, bf16 or fp32, got $PRECISION" >&2; exit 2 ;;
esac
if [ "$DEEPSPEED" = none ]; then
  # trainer.py's _save reads a state_dict that only DeepSpeed (or FSDP) hands it; its final save keeps LoRA only.
  echo "finetune_lora.sh: note: without DeepSpeed, upstream trainer.py fails at its first checkpoint save and its final save holds only the LoRA tensors: good for a loss check, not for a model to merge" >&2
fi
if [ "$USE_LORA" = true ] && [ "$TUNE_LLM" = true ]; then
  echo "finetune_lora.sh: USE_LORA=true with TUNE_LLM=true is refused by finetune.py; set one of them to false" >&2; exit 2
fi

CMD=("$TORCHRUN" --nproc_per_node "$GPUS" --nnodes "$NNODES" --node_rank "$NODE_RANK"
  --master_addr "$MASTER_ADDR" --master_port "$MASTER_PORT" finetune.py
  --model_name_or_path "$MODEL" --llm_type "$LLM_TYPE"
  --data_path "$DATA" --eval_data_path "$EVAL_DATA"
  --remove_unused_columns false --label_names labels --prediction_loss_only false
  --bf16 "$BF16" --bf16_full_eval "$BF16" --fp16 "$FP16" --fp16_full_eval "$FP16"
  --do_train --do_eval
  --tune_vision "$TUNE_VISION" --tune_llm "$TUNE_LLM" --use_lora "$USE_LORA"
  --lora_target_modules "$LORA_TARGET_MODULES" --lora_r "$LORA_R" --lora_alpha "$LORA_ALPHA"
  --lora_dropout "$LORA_DROPOUT"
  --model_max_length "$MODEL_MAX_LENGTH" --max_slice_nums "$MAX_SLICE_NUMS"
  --max_steps "$MAX_STEPS" --eval_steps "$EVAL_STEPS"
  --output_dir "$OUTPUT_DIR" --logging_dir "$LOGGING_DIR" --logging_strategy steps
  --per_device_train_batch_size "$BATCH_SIZE" --per_device_eval_batch_size "$EVAL_BATCH_SIZE"
  --gradient_accumulation_steps "$GRAD_ACC"
  --evaluation_strategy steps --save_strategy steps --save_steps "$SAVE_STEPS"
  --save_total_limit "$SAVE_TOTAL_LIMIT"
  --learning_rate "$LR" --weight_decay "$WEIGHT_DECAY" --adam_beta2 "$ADAM_BETA2"
  --warmup_ratio "$WARMUP_RATIO" --lr_scheduler_type "$LR_SCHEDULER" --logging_steps "$LOGGING_STEPS"
  --gradient_checkpointing "$GRADIENT_CHECKPOINTING"
  --report_to "$REPORT_TO")
[ "$DEEPSPEED" = none ] || CMD+=(--deepspeed "$DEEPSPEED")
CMD+=("${EXTRA[@]}")
WORKDIR=$MINICPMV_DIR/finetune

if [ $DRY = 1 ]; then
  printf 'cd %q && PYTHONUTF8=1' "$WORKDIR"
  printf ' %q' "${CMD[@]}"
  echo
  exit 0
fi

fail() { echo "finetune_lora.sh: $*" >&2; exit 1; }
[ -f "$WORKDIR/finetune.py" ] || fail "$WORKDIR/finetune.py not found: run ./setup_envs.sh --minicpmv (or set MINICPMV_DIR to the clone)"
[ -x "$TORCHRUN" ] || fail "$TORCHRUN not found: run ./setup_envs.sh --minicpmv (or set TORCHRUN)"
for f in "$DATA" "$EVAL_DATA"; do
  [ -f "$f" ] || fail "$f not found: make it with datasets/scripts/generate_json_datasets.sh (or set DATA / EVAL_DATA)"
done
[ "$DEEPSPEED" = none ] || [ -f "$DEEPSPEED" ] || fail "DeepSpeed config $DEEPSPEED not found (set DEEPSPEED, or none to train without DeepSpeed)"
mkdir -p "$OUTPUT_DIR"
# The run directory says how to use it: base model and the prompt the training data asked with.
"$(dirname "$TORCHRUN")/python" -m subtitle_vlm.engines.upstream_run minicpmv "$OUTPUT_DIR" "$MODEL" "$DATA" \
  eval_data="$EVAL_DATA" max_steps="$MAX_STEPS" learning_rate="$LR" per_device_train_batch_size="$BATCH_SIZE" \
  gradient_accumulation_steps="$GRAD_ACC" world_size="$((GPUS * NNODES))" dtype="$PRECISION" deepspeed="$DEEPSPEED" \
  lora_r="$LORA_R" lora_alpha="$LORA_ALPHA" lora_dropout="$LORA_DROPOUT" lora_target_modules="$LORA_TARGET_MODULES" \
  tune_vision="$TUNE_VISION"
# finetune.py opens the JSON with the platform encoding; UTF-8 mode makes that UTF-8 everywhere.
cd "$WORKDIR"
export PYTHONUTF8=1
# DeepSpeed's JIT-built ops (cpu_adam) are cached per Python version only (py311_cpu), which the main
# environment shares with a newer torch: each would rebuild the other's ops. Keep this venv's own.
export TORCH_EXTENSIONS_DIR=${TORCH_EXTENSIONS_DIR:-$(dirname "$(dirname "$TORCHRUN")")/torch_extensions}
exec "${CMD[@]}"
