#!/usr/bin/env bash
# ./scripts/gpu_smoke_wheels.sh   - fill .whl/ with the wheels scripts/gpu_smoke.sh installs on a GPU machine
#
# The GPU machine has no network and lacks deepspeed, OpenCC, RapidFuzz and some of deepspeed's dependencies
# (pydantic and its parts, hjson; it has ninja, py-cpuinfo, msgpack, einops, psutil, nvcc), so they travel
# with the working tree in .whl/ (git-ignored). Run this on a machine with network (ours),
# then carry .whl/ to the GPU machine. Wheels are for CPython 3.12 on x86-64 Linux; deepspeed is a pure
# Python sdist (its ops compile just in time), built here into a py3-none-any wheel. Versions match
# requirements/main.txt. Idempotent: wheels already in .whl/ are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
mkdir -p .whl

# Binary wheels for the GPU machine's interpreter (CPython 3.12, manylinux x86-64).
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64 -d .whl \
  opencc==1.4.2 rapidfuzz==3.14.6 \
  pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 hjson==3.1.0 \
  typing-extensions==4.16.0

# deepspeed: sdist only on PyPI; build it without its ops (they are compiled on first use).
if ! ls .whl/deepspeed-0.19.8-*.whl >/dev/null 2>&1; then
  DS_BUILD_OPS=0 "$PY" -m pip wheel -q --no-deps --no-build-isolation deepspeed==0.19.8 -w .whl
fi
for w in .whl/deepspeed-*.whl; do
  case "$w" in
    *-py3-none-any.whl) ;;
    *) echo "gpu_smoke_wheels: $w is not a pure-Python wheel; it would not install on the GPU machine" >&2; exit 1 ;;
  esac
done

total=$(du -sm .whl | cut -f1)
ls -1 .whl
echo "gpu_smoke_wheels: $(ls .whl/*.whl | wc -l) wheels, ${total} MB in .whl/"
if [ "$total" -ge 60 ]; then
  echo "gpu_smoke_wheels: .whl/ is ${total} MB, over the 60 MB budget" >&2
  exit 1
fi
