#!/usr/bin/env bash
# bash modification/tinyllava/custom_finetune.sh [--dry-run] [--SETTING VALUE ...] [-- EXTRA custom_finetune.py ARGS]
#   (after ./setup_envs.sh --tinyllava it also lies in third_party/TinyLLaVA_Factory/scripts/train/)
#
# LoRA fine-tuning of TinyLLaVA-Phi-2-SigLIP-3.1B with upstream tinyllava/train/custom_finetune.py
# (TinyLLaVA/TinyLLaVA_Factory @ 6c581c3), run from the clone's root. Defaults reproduce the seed run:
# LoRA r 128 / alpha 256 on the LLM, connector fully trained, vision tower frozen, phi template, 10 epochs,
# batch 4 on one GPU (total 4), lr 1e-4, fp16, ZeRO-2.
# Every setting is an environment variable or the flag of the same name (EPOCHS=1 or --epochs 1):
#   GPUS 0 (GPU ids, comma separated)  MASTER_PORT 29501
#   MODEL tinyllava/TinyLLaVA-Phi-2-SigLIP-3.1B
#   DATA_DIR <project>/data/json (what datasets/scripts/generate_json_datasets.sh writes)
#   DATA $DATA_DIR/tinyllava/train.json  IMAGE_FOLDER image_folder of $DATA's info.json (else <project>/data/synth)
#   OUTPUT_DIR <project>/runs/tinyllava_lora  RUN_NAME tinyllava-phi2-siglip-subtitle-lora
#   DEEPSPEED <clone>/scripts/zero2.json (none: plain Trainer, no DeepSpeed)  CONV_VERSION phi  MM_VISION_SELECT_LAYER -2  IMAGE_ASPECT_RATIO square
#   PRECISION fp16 (fp16 | bf16 | fp32; fp32 for a CPU)  TRAINING_RECIPE lora  TUNE_TYPE_LLM lora  TUNE_TYPE_VISION_TOWER frozen
#   TUNE_VISION_TOWER_FROM_LAYER 0  TUNE_TYPE_CONNECTOR full  LORA_R 128  LORA_ALPHA 256
#   EPOCHS 10  BATCH_SIZE 4  EVAL_BATCH_SIZE 4  GRAD_ACC 1  SAVE_STEPS 50000  SAVE_TOTAL_LIMIT 1  LR 1e-4
#   WEIGHT_DECAY 0.  WARMUP_RATIO 0.03  LR_SCHEDULER cosine  LOGGING_STEPS 1  TF32 False
#   MODEL_MAX_LENGTH 3072  GRADIENT_CHECKPOINTING True  DATALOADER_NUM_WORKERS 8  LAZY_PREPROCESS True
#   REPORT_TO tensorboard  TOKENIZER_USE_FAST False  GROUP_BY_MODALITY_LENGTH False
#   TINYLLAVA_DIR <project>/third_party/TinyLLaVA_Factory  DEEPSPEED_LAUNCHER <project>/.venv-tinyllava/bin/deepspeed
#   TORCH_EXTENSIONS_DIR <venv of DEEPSPEED_LAUNCHER>/torch_extensions (DeepSpeed's cache of the ops it compiles)
#   LAUNCHER deepspeed (deepspeed: upstream's launcher on the GPUS ids | torchrun: one process per GPUS id,
#     started by the torchrun beside DEEPSPEED_LAUNCHER; the deepspeed launcher counts GPUs and stops without them)
# On a machine without GPUs (a smoke test of the real code): LAUNCHER torchrun, GPUS 0,1, PRECISION fp32,
# DEEPSPEED none. The pinned DeepSpeed 0.14.0 has no CPU path without Intel's extension packages, so the
# Trainer runs without it, as DDP over gloo. That needs two processes or more: the factory's log() asks
# torch.distributed for the rank, and without DeepSpeed the Trainer sets up a process group only for 2+.
# Without DeepSpeed the launcher also passes --ddp_find_unused_parameters False: DDP's unused-parameter
# search and the recipe's (reentrant) gradient checkpointing together fail on the first backward.
# --dry-run prints the exact command (absolute paths) and changes nothing. A real run also writes
# $OUTPUT_DIR/run_config.json (base model, prompt of the training data) for the tinyllava engine.
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

SETTINGS="GPUS MASTER_PORT MODEL DATA_DIR DATA IMAGE_FOLDER OUTPUT_DIR RUN_NAME DEEPSPEED CONV_VERSION
MM_VISION_SELECT_LAYER IMAGE_ASPECT_RATIO PRECISION TRAINING_RECIPE TUNE_TYPE_LLM TUNE_TYPE_VISION_TOWER
TUNE_VISION_TOWER_FROM_LAYER TUNE_TYPE_CONNECTOR LORA_R LORA_ALPHA EPOCHS BATCH_SIZE EVAL_BATCH_SIZE GRAD_ACC
SAVE_STEPS SAVE_TOTAL_LIMIT LR WEIGHT_DECAY WARMUP_RATIO LR_SCHEDULER LOGGING_STEPS TF32 MODEL_MAX_LENGTH
GRADIENT_CHECKPOINTING DATALOADER_NUM_WORKERS LAZY_PREPROCESS REPORT_TO TOKENIZER_USE_FAST
GROUP_BY_MODALITY_LENGTH TINYLLAVA_DIR DEEPSPEED_LAUNCHER LAUNCHER PROJECT_ROOT"

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
        [ $# -ge 2 ] || { echo "custom_finetune.sh: $1 needs a value" >&2; exit 2; }
        val=$2; shift 2
      fi
      var=$(echo "$key" | tr 'a-z-' 'A-Z_')
      if ! grep -qw -- "$var" <<<"$SETTINGS"; then
        echo "custom_finetune.sh: unknown setting --$key; settings: $(echo $SETTINGS | tr 'A-Z_' 'a-z-')" >&2; exit 2
      fi
      printf -v "$var" '%s' "$val"; export "${var?}" ;;
    *) echo "custom_finetune.sh: unexpected argument $1 (settings are --name value; custom_finetune.py arguments go after --)" >&2; exit 2 ;;
  esac
done

PROJECT_ROOT=${PROJECT_ROOT:-$(find_root)}
[ -n "$PROJECT_ROOT" ] || { echo "custom_finetune.sh: cannot find the subtitle-vlm checkout above $HERE; set PROJECT_ROOT" >&2; exit 2; }
PROJECT_ROOT=$(abspath "$PROJECT_ROOT")

if [ -z "${TINYLLAVA_DIR:-}" ]; then
  # Running from inside the clone's scripts/train/: that clone. Else the one setup_envs.sh made.
  if [ -f "$HERE/../../tinyllava/train/custom_finetune.py" ]; then TINYLLAVA_DIR=$HERE/../..
  else TINYLLAVA_DIR=$PROJECT_ROOT/third_party/TinyLLaVA_Factory; fi
fi
TINYLLAVA_DIR=$(abspath "$TINYLLAVA_DIR")
GPUS=${GPUS:-0}; MASTER_PORT=${MASTER_PORT:-29501}
MODEL=${MODEL:-tinyllava/TinyLLaVA-Phi-2-SigLIP-3.1B}
DATA_DIR=$(abspath "${DATA_DIR:-$PROJECT_ROOT/data/json}")
DATA=$(abspath "${DATA:-$DATA_DIR/tinyllava/train.json}")
if [ -z "${IMAGE_FOLDER:-}" ]; then
  # The exporter records the folder its relative image paths start from in info.json beside the data.
  INFO=$(dirname "$DATA")/info.json
  if [ -f "$INFO" ]; then
    IMAGE_FOLDER=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1], encoding="utf-8"))["image_folder"])' "$INFO")
  else
    IMAGE_FOLDER=$PROJECT_ROOT/data/synth
  fi
fi
IMAGE_FOLDER=$(abspath "$IMAGE_FOLDER")
OUTPUT_DIR=$(abspath "${OUTPUT_DIR:-$PROJECT_ROOT/runs/tinyllava_lora}")
RUN_NAME=${RUN_NAME:-tinyllava-phi2-siglip-subtitle-lora}
DEEPSPEED=${DEEPSPEED:-$TINYLLAVA_DIR/scripts/zero2.json}
[ "$DEEPSPEED" = none ] || DEEPSPEED=$(abspath "$DEEPSPEED")
CONV_VERSION=${CONV_VERSION:-phi}; MM_VISION_SELECT_LAYER=${MM_VISION_SELECT_LAYER:--2}
IMAGE_ASPECT_RATIO=${IMAGE_ASPECT_RATIO:-square}; PRECISION=${PRECISION:-fp16}
TRAINING_RECIPE=${TRAINING_RECIPE:-lora}; TUNE_TYPE_LLM=${TUNE_TYPE_LLM:-lora}
TUNE_TYPE_VISION_TOWER=${TUNE_TYPE_VISION_TOWER:-frozen}; TUNE_VISION_TOWER_FROM_LAYER=${TUNE_VISION_TOWER_FROM_LAYER:-0}
TUNE_TYPE_CONNECTOR=${TUNE_TYPE_CONNECTOR:-full}; LORA_R=${LORA_R:-128}; LORA_ALPHA=${LORA_ALPHA:-256}
EPOCHS=${EPOCHS:-10}; BATCH_SIZE=${BATCH_SIZE:-4}; EVAL_BATCH_SIZE=${EVAL_BATCH_SIZE:-4}; GRAD_ACC=${GRAD_ACC:-1}
SAVE_STEPS=${SAVE_STEPS:-50000}; SAVE_TOTAL_LIMIT=${SAVE_TOTAL_LIMIT:-1}; LR=${LR:-1e-4}
WEIGHT_DECAY=${WEIGHT_DECAY:-0.}; WARMUP_RATIO=${WARMUP_RATIO:-0.03}; LR_SCHEDULER=${LR_SCHEDULER:-cosine}
LOGGING_STEPS=${LOGGING_STEPS:-1}; TF32=${TF32:-False}; MODEL_MAX_LENGTH=${MODEL_MAX_LENGTH:-3072}
GRADIENT_CHECKPOINTING=${GRADIENT_CHECKPOINTING:-True}; DATALOADER_NUM_WORKERS=${DATALOADER_NUM_WORKERS:-8}
LAZY_PREPROCESS=${LAZY_PREPROCESS:-True}; REPORT_TO=${REPORT_TO:-tensorboard}
TOKENIZER_USE_FAST=${TOKENIZER_USE_FAST:-False}; GROUP_BY_MODALITY_LENGTH=${GROUP_BY_MODALITY_LENGTH:-False}
DEEPSPEED_LAUNCHER=${DEEPSPEED_LAUNCHER:-$PROJECT_ROOT/.venv-tinyllava/bin/deepspeed}
LAUNCHER=${LAUNCHER:-deepspeed}
# A local model folder becomes absolute (the command runs elsewhere); anything else is a hub id.
if [ -e "$MODEL" ]; then MODEL=$(abspath "$MODEL"); fi

case "$PRECISION" in
  fp16) FP16=True; BF16=False ;;
  bf16) FP16=False; BF16=True ;;
  fp32) FP16=False; BF16=False ;;
  *) echo "custom_finetune.sh: PRECISION must be fp16, bf16 or fp32, got $PRECISION" >&2; exit 2 ;;
esac
case "$LAUNCHER" in
  deepspeed) START=("$DEEPSPEED_LAUNCHER" --include "localhost:$GPUS" --master_port "$MASTER_PORT") ;;
  torchrun)
    NPROC=$(awk -F, '{print NF}' <<<"$GPUS")
    START=("$(dirname "$DEEPSPEED_LAUNCHER")/torchrun" --nproc_per_node "$NPROC" --master_port "$MASTER_PORT") ;;
  *) echo "custom_finetune.sh: LAUNCHER must be deepspeed or torchrun, got $LAUNCHER" >&2; exit 2 ;;
esac

if [ "$DEEPSPEED" = none ] && [ "$LAUNCHER" = torchrun ] && [ "$NPROC" -lt 2 ]; then
  echo "custom_finetune.sh: DEEPSPEED=none needs 2 or more processes (GPUS=0,1): TinyLLaVA_Factory's log() calls torch.distributed.get_rank(), and without DeepSpeed the Trainer makes a process group only for 2+" >&2; exit 2
fi
CMD=("${START[@]}" tinyllava/train/custom_finetune.py)
if [ "$DEEPSPEED" = none ]; then CMD+=(--ddp_find_unused_parameters False); else CMD+=(--deepspeed "$DEEPSPEED"); fi
CMD+=(--data_path "$DATA" --image_folder "$IMAGE_FOLDER"
  --is_multimodal True --conv_version "$CONV_VERSION" --mm_vision_select_layer "$MM_VISION_SELECT_LAYER"
  --image_aspect_ratio "$IMAGE_ASPECT_RATIO" --fp16 "$FP16" --bf16 "$BF16"
  --training_recipe "$TRAINING_RECIPE" --tune_type_llm "$TUNE_TYPE_LLM"
  --tune_type_vision_tower "$TUNE_TYPE_VISION_TOWER" --tune_vision_tower_from_layer "$TUNE_VISION_TOWER_FROM_LAYER"
  --tune_type_connector "$TUNE_TYPE_CONNECTOR" --lora_r "$LORA_R" --lora_alpha "$LORA_ALPHA"
  --group_by_modality_length "$GROUP_BY_MODALITY_LENGTH" --pretrained_model_path "$MODEL"
  --output_dir "$OUTPUT_DIR" --num_train_epochs "$EPOCHS" --per_device_train_batch_size "$BATCH_SIZE"
  --per_device_eval_batch_size "$EVAL_BATCH_SIZE" --gradient_accumulation_steps "$GRAD_ACC"
  --evaluation_strategy no --save_strategy steps --save_steps "$SAVE_STEPS" --save_total_limit "$SAVE_TOTAL_LIMIT"
  --learning_rate "$LR" --weight_decay "$WEIGHT_DECAY" --warmup_ratio "$WARMUP_RATIO"
  --lr_scheduler_type "$LR_SCHEDULER" --logging_steps "$LOGGING_STEPS" --tf32 "$TF32"
  --model_max_length "$MODEL_MAX_LENGTH" --gradient_checkpointing "$GRADIENT_CHECKPOINTING"
  --dataloader_num_workers "$DATALOADER_NUM_WORKERS" --lazy_preprocess "$LAZY_PREPROCESS"
  --report_to "$REPORT_TO" --tokenizer_use_fast "$TOKENIZER_USE_FAST" --run_name "$RUN_NAME")
CMD+=("${EXTRA[@]}")

if [ $DRY = 1 ]; then
  printf 'cd %q && PYTHONUTF8=1' "$TINYLLAVA_DIR"
  printf ' %q' "${CMD[@]}"
  echo
  exit 0
fi

fail() { echo "custom_finetune.sh: $*" >&2; exit 1; }
[ -f "$TINYLLAVA_DIR/tinyllava/train/custom_finetune.py" ] || fail "$TINYLLAVA_DIR is not a TinyLLaVA_Factory clone: run ./setup_envs.sh --tinyllava (or set TINYLLAVA_DIR)"
[ -x "${START[0]}" ] || fail "${START[0]} not found: run ./setup_envs.sh --tinyllava (or set DEEPSPEED_LAUNCHER)"
[ -f "$DATA" ] || fail "$DATA not found: make it with datasets/scripts/generate_json_datasets.sh (or set DATA)"
[ -d "$IMAGE_FOLDER" ] || fail "image folder $IMAGE_FOLDER not found (set IMAGE_FOLDER to the folder the image paths in $DATA start from)"
[ "$DEEPSPEED" = none ] || [ -f "$DEEPSPEED" ] || fail "DeepSpeed config $DEEPSPEED not found (set DEEPSPEED, or none to train without DeepSpeed)"
mkdir -p "$OUTPUT_DIR"
# The run directory says how to use it: base model and the prompt the training data asked with.
"$(dirname "$DEEPSPEED_LAUNCHER")/python" -m subtitle_vlm.engines.upstream_run tinyllava "$OUTPUT_DIR" "$MODEL" "$DATA" \
  image_folder="$IMAGE_FOLDER" num_train_epochs="$EPOCHS" learning_rate="$LR" per_device_train_batch_size="$BATCH_SIZE" \
  gradient_accumulation_steps="$GRAD_ACC" dtype="$PRECISION" deepspeed="$DEEPSPEED" lora_r="$LORA_R" \
  lora_alpha="$LORA_ALPHA" conv_version="$CONV_VERSION"
cd "$TINYLLAVA_DIR"
export PYTHONUTF8=1
# DeepSpeed's JIT-built ops are cached per Python version only; keep this venv's apart from other torches'.
export TORCH_EXTENSIONS_DIR=${TORCH_EXTENSIONS_DIR:-$(dirname "$(dirname "$DEEPSPEED_LAUNCHER")")/torch_extensions}
exec "${CMD[@]}"
