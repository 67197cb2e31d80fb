#!/usr/bin/env bash
# ./scripts/gpu_smoke.sh [--cpu] [--work DIR] [--json-out FILE]   - smoke test on one NVIDIA GPU, no network
#
# Trains a tiny VLM (bf16, 20 steps) plain, with DeepSpeed ZeRO-2 and with ZeRO-3 CPU offload, merges it,
# predicts batched, data-parallel and with a device-map split; prints ONE JSON summary line (see
# scripts/gpu_smoke.py). Runs this package from src/ without installing it. Packages the machine lacks
# (deepspeed, OpenCC, RapidFuzz and their dependencies) are installed from .whl/ (filled beforehand by
# scripts/gpu_smoke_wheels.sh on a machine with network) into /tmp/site. Settings: PYTHON (default python3).
set -uo pipefail
case "${1:-}" in -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;; esac
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# Absolute, and the children run in a work folder: from the repository root, our datasets/ folder
# would shadow the `datasets` package on a machine that lacks it.
export PYTHONPATH="$(pwd)/src${PYTHONPATH:+:$PYTHONPATH}"

missing=$("$PY" - <<'PYEOF'
import importlib.util
print(" ".join(m for m in ("deepspeed", "opencc", "rapidfuzz", "pydantic", "hjson", "cpuinfo", "ninja", "msgpack", "einops")
               if importlib.util.find_spec(m) is None))
PYEOF
)
if [ -n "$missing" ]; then
  if ls .whl/*.whl >/dev/null 2>&1; then
    echo "gpu_smoke: installing from .whl/ into /tmp/site (missing: $missing)" >&2
    "$PY" -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl >&2 || {
      echo "gpu_smoke: installing .whl/ failed" >&2; exit 1; }
    export PYTHONPATH="/tmp/site:$PYTHONPATH" PATH="/tmp/site/bin:$PATH"
  else
    echo "gpu_smoke: missing $missing and no .whl/ folder; run scripts/gpu_smoke_wheels.sh first (parts will fail)" >&2
  fi
fi
# DeepSpeed's just-in-time ops (only the optional CPU Adam part builds one) are cached here.
export TORCH_EXTENSIONS_DIR=${TORCH_EXTENSIONS_DIR:-$HOME/.cache/torch_extensions}
exec "$PY" scripts/gpu_smoke.py "$@"
