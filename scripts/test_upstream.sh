#!/usr/bin/env bash
# bash scripts/test_upstream.sh [--no-setup] [--out FILE] [-- PYTEST ARGS]
#
# Runs the original recipes' real code at its pinned commits, end to end on this machine (CPU is enough):
#   1. builds the pinned environments and clones once (./setup_envs.sh --minicpmv --tinyllava; a rerun with
#      nothing changed only re-verifies them)
#   2. runs tests/upstream/test_upstream_e2e.py (marker upstream): MiniCPM-V finetune.py -> merge.py ->
#      cpu_inference.py, and TinyLLaVA custom_finetune.py -> inference.py, on tiny models the test builds
#   3. writes docs/results/upstream_<date>.json: steps, losses, times of each stage, CSV rows, wall time of
#      the setup and of the tests, disk used by each environment, the pins found in each
# Settings (environment): MINICPMV_SOURCE, TINYLLAVA_SOURCE: where the upstream code comes from (a git URL,
#   a clone, or a plain source folder with UPSTREAM_COMMIT; default: the snapshots in ../shared/upstream when
#   present, else GitHub); PYTHON_MINICPMV / PYTHON_TINYLLAVA as for setup_upstream.sh (a python3.10 of
#   pyenv is found when python3.10 itself does not run).
# --no-setup     use the environments as they are (skip step 1)
# --out FILE     write the results there instead
# Needs the main environment (.venv, for pytest and the frame synthesiser): ./setup_envs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd -P)

SETUP=1; OUT=""; PYTEST_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-setup) SETUP=0; shift ;;
    --out) OUT=$2; shift 2 ;;
    --) shift; PYTEST_ARGS=("$@"); break ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "test_upstream.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -x .venv/bin/python ] || { echo "test_upstream.sh: .venv not found: run ./setup_envs.sh first" >&2; exit 2; }
OUT=${OUT:-docs/results/upstream_$(date -u +%Y-%m-%d).json}

# The offline snapshots this project keeps beside its checkout, when the caller names no source.
SNAP=$ROOT/../shared/upstream
if [ -z "${MINICPMV_SOURCE:-}" ]; then
  for d in "$SNAP"/MiniCPM-V-*/; do [ -f "$d/UPSTREAM_COMMIT" ] && MINICPMV_SOURCE=${d%/}; done
fi
if [ -z "${TINYLLAVA_SOURCE:-}" ]; then
  for d in "$SNAP"/TinyLLaVA_Factory-*/; do [ -f "$d/UPSTREAM_COMMIT" ] && TINYLLAVA_SOURCE=${d%/}; done
fi
# TinyLLaVA needs Python 3.10; under pyenv, python3.10 may be a shim of a version not selected.
if [ -z "${PYTHON_TINYLLAVA:-}" ] && ! python3.10 -c '' >/dev/null 2>&1 && command -v pyenv >/dev/null 2>&1; then
  for p in "$(pyenv root)"/versions/3.10*/bin/python3.10; do [ -x "$p" ] && export PYTHON_TINYLLAVA=$p; done
fi

RESULTS=$(mktemp -d)
trap 'rm -rf "$RESULTS"' EXIT
START=$(date +%s)
SETUP_S=0
if [ $SETUP = 1 ]; then
  args=(--minicpmv --tinyllava)
  [ -n "${MINICPMV_SOURCE:-}" ] && args+=(--minicpmv-source "$MINICPMV_SOURCE")
  [ -n "${TINYLLAVA_SOURCE:-}" ] && args+=(--tinyllava-source "$TINYLLAVA_SOURCE")
  ./setup_envs.sh "${args[@]}"
  SETUP_S=$(( $(date +%s) - START ))
fi

# Our own pytest base folder: other pytest runs on the machine prune older ones while these tests run.
BASETEMP=$RESULTS/pytest
T0=$(date +%s)
rc=0
UPSTREAM_RESULTS_DIR=$RESULTS .venv/bin/python -m pytest tests/upstream/test_upstream_e2e.py -m upstream -v \
  --basetemp "$BASETEMP" -p no:cacheprovider "${PYTEST_ARGS[@]}" || rc=$?
TEST_S=$(( $(date +%s) - T0 ))
TOTAL_S=$(( $(date +%s) - START ))

mkdir -p "$(dirname "$OUT")"
.venv/bin/python - "$RESULTS" "$OUT" "$SETUP" "$SETUP_S" "$TEST_S" "$TOTAL_S" "$rc" <<'EOF'
import json, os, platform, subprocess, sys, time
from pathlib import Path

results, out, setup, setup_s, test_s, total_s, rc = sys.argv[1:]


def du(path):
    p = Path(path)
    if not p.exists():
        return None
    return int(subprocess.run(["du", "-sb", str(p)], capture_output=True, text=True).stdout.split()[0])


def pins(venv):
    py = Path(venv) / "bin" / "python"
    if not py.exists():
        return None
    code = ("import importlib.metadata as m, json, sys; print(json.dumps({'python': sys.version.split()[0], "
            "**{n: m.version(n) for n in ('torch', 'transformers', 'peft', 'deepspeed', 'accelerate')}}))")
    r = subprocess.run([str(py), "-c", code], capture_output=True, text=True)
    return json.loads(r.stdout) if r.returncode == 0 else None


def commit(clone):
    f = Path(clone) / "UPSTREAM_COMMIT"
    if f.exists():
        return f.read_text().split()[0]
    r = subprocess.run(["git", "-C", clone, "rev-parse", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip() or None


tests = {p.stem: json.loads(p.read_text()) for p in sorted(Path(results).glob("*.json"))}
record = {
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()]},
    "pytest_exit_code": int(rc),
    "wall_seconds": {"setup": int(setup_s) if setup == "1" else None, "tests": int(test_s), "total": int(total_s)},
    "environments": {
        name: {"venv": venv, "venv_bytes": du(venv), "clone": clone, "clone_bytes": du(clone),
               "commit": commit(clone), "versions": pins(venv)}
        for name, venv, clone in (("minicpmv", ".venv-minicpmv", "third_party/MiniCPM-V"),
                                  ("tinyllava", ".venv-tinyllava", "third_party/TinyLLaVA_Factory"))},
    "tests": tests,
}
Path(out).write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
print(f"test_upstream: wrote {out}")
EOF
exit $rc
