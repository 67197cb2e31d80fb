#!/usr/bin/env bash
# ./setup_envs.sh [--main] [--minicpmv] [--tinyllava] [--all] [--dry-run]
#                 [--minicpmv-source SRC] [--tinyllava-source SRC]
#
# Creates the virtual environments, idempotently (a rerun with nothing changed takes a second):
#   .venv            main environment: requirements/main.txt + this package (editable)
#   --minicpmv       .venv-minicpmv + third_party/MiniCPM-V at its pinned commit (see README)
#   --tinyllava      .venv-tinyllava + third_party/TinyLLaVA_Factory at its pinned commit
#   --minicpmv-source SRC, --tinyllava-source SRC: take the upstream code from SRC instead of GitHub: a git
#                    URL, a local clone, or (without network) a plain folder of the pinned commit's files
#                    with an UPSTREAM_COMMIT file holding that commit's full hash
# Settings: PYTHON (interpreter for .venv, default python3.11 or python3).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

DRY=0; WANT_MAIN=0; WANT_MINICPMV=0; WANT_TINYLLAVA=0; SOURCES=()
while [ $# -gt 0 ]; do
  arg=$1; shift
  case "$arg" in
    --minicpmv-source=*|--tinyllava-source=*) SOURCES+=("$arg") ;;
    --minicpmv-source|--tinyllava-source)
      [ $# -ge 1 ] || { echo "setup_envs.sh: $arg needs a value (a git URL or a source folder)" >&2; exit 2; }
      SOURCES+=("$arg=$1"); shift ;;
    --main) WANT_MAIN=1 ;;
    --minicpmv) WANT_MINICPMV=1 ;;
    --tinyllava) WANT_TINYLLAVA=1 ;;
    --all) WANT_MAIN=1; WANT_MINICPMV=1; WANT_TINYLLAVA=1 ;;
    --dry-run) DRY=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "setup_envs.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
[ $WANT_MINICPMV = 0 ] && [ $WANT_TINYLLAVA = 0 ] && WANT_MAIN=1

run() {  # print, then run unless --dry-run
  echo "+ $*"
  [ $DRY = 1 ] || "$@"
}

stamp_of() {  # a hash of the files that define an environment
  cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1
}

setup_main() {
  local py=${PYTHON:-}
  if [ -z "$py" ]; then
    if command -v python3.11 >/dev/null; then py=python3.11; else py=python3; fi
  fi
  local want; want=$(stamp_of requirements/main.txt pyproject.toml)
  if [ -f .venv/.stamp ] && [ "$(cat .venv/.stamp)" = "$want" ] && [ $DRY = 0 ]; then
    echo "setup_envs: .venv is up to date"
    return
  fi
  [ -x .venv/bin/python ] || run "$py" -m venv .venv
  run .venv/bin/python -m pip install -q --upgrade pip
  run .venv/bin/python -m pip install -q -r requirements/main.txt
  run .venv/bin/python -m pip install -q --no-deps -e .
  [ $DRY = 1 ] || echo "$want" > .venv/.stamp
  echo "setup_envs: .venv ready"
}

[ $WANT_MAIN = 1 ] && setup_main
if [ $WANT_MINICPMV = 1 ] || [ $WANT_TINYLLAVA = 1 ]; then
  if [ -f scripts/setup_upstream.sh ]; then
    args=()
    [ $WANT_MINICPMV = 1 ] && args+=(--minicpmv)
    [ $WANT_TINYLLAVA = 1 ] && args+=(--tinyllava)
    [ $DRY = 1 ] && args+=(--dry-run)
    bash scripts/setup_upstream.sh "${args[@]}" "${SOURCES[@]}"
  else
    echo "setup_envs: upstream environments are not available in this version" >&2; exit 2
  fi
fi
