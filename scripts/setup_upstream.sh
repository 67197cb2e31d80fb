#!/usr/bin/env bash
# bash scripts/setup_upstream.sh [--minicpmv] [--tinyllava] [--all] [--dry-run] [--no-install]
#                                [--minicpmv-source SRC] [--tinyllava-source SRC]
#   (normally run through ./setup_envs.sh --minicpmv | --tinyllava | --all [--dry-run])
#
# For each backend asked for:
#   1. clones the upstream repository into third_party/ and checks out its pinned commit, verifying it;
#      or, from a plain source folder (no network), copies it after checking the commit it records
#   2. copies our launchers and helpers from modification/ into the clone
#   3. creates its virtual environment (MiniCPM-V: Python 3.11, TinyLLaVA: 3.10) with the pins of requirements/<backend>.txt, plus this
#      package's light core (synth, dataset, score, the predict loop)
# Idempotent: a stamp in the environment records what it was built from; a rerun with nothing changed only
# re-verifies the commit. Before changing anything it checks that what it must fetch is reachable, and stops
# with a message naming it when it is not.
# --dry-run      print every step, do nothing
# --no-install   clone, verify and copy only (no virtual environment)
# --minicpmv-source SRC, --tinyllava-source SRC   where the upstream code comes from instead of GitHub:
#                a git URL, a local clone, or a plain folder of the commit's files holding an UPSTREAM_COMMIT
#                file with the commit's full hash (for machines without network); same as the
#                MINICPMV_REPO_URL / TINYLLAVA_REPO_URL settings
# Settings (environment): PYTHON_MINICPMV (default python3.11), PYTHON_TINYLLAVA (default python3.10), or
#   PYTHON_UPSTREAM for both; MINICPMV_REPO_URL,
#   TINYLLAVA_REPO_URL (see the --*-source flags), SETUP_NET_TIMEOUT (seconds, default 20).
#   MINICPMV_COMMIT / TINYLLAVA_COMMIT override the pins (only for testing this script).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd -P)

MINICPMV_COMMIT=${MINICPMV_COMMIT:-9bd93a2}
TINYLLAVA_COMMIT=${TINYLLAVA_COMMIT:-6c581c3}
MINICPMV_REPO_URL=${MINICPMV_REPO_URL:-https://github.com/OpenBMB/MiniCPM-V.git}
TINYLLAVA_REPO_URL=${TINYLLAVA_REPO_URL:-https://github.com/TinyLLaVA/TinyLLaVA_Factory.git}
NET_TIMEOUT=${SETUP_NET_TIMEOUT:-20}

DRY=0; INSTALL=1; WANT=()
while [ $# -gt 0 ]; do
  arg=$1; shift
  case "$arg" in
    --minicpmv) WANT+=(minicpmv) ;;
    --tinyllava) WANT+=(tinyllava) ;;
    --all) WANT=(minicpmv tinyllava) ;;
    --dry-run) DRY=1 ;;
    --no-install) INSTALL=0 ;;
    --minicpmv-source=*) MINICPMV_REPO_URL=${arg#*=} ;;
    --tinyllava-source=*) TINYLLAVA_REPO_URL=${arg#*=} ;;
    --minicpmv-source|--tinyllava-source)
      [ $# -ge 1 ] || { echo "setup_upstream: $arg needs a value (a git URL or a source folder)" >&2; exit 2; }
      if [ "$arg" = --minicpmv-source ]; then MINICPMV_REPO_URL=$1; else TINYLLAVA_REPO_URL=$1; fi; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "setup_upstream: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#WANT[@]} -gt 0 ] || { echo "setup_upstream: say --minicpmv, --tinyllava or --all" >&2; exit 2; }

say() { echo "setup_upstream: $*"; }
die() { echo "setup_upstream: error: $*" >&2; exit 1; }
shq() {  # one argument, quoted for a shell only when it needs it
  case "$1" in
    ''|*[!A-Za-z0-9_./:=+,@%-]*) local sq="'\\''"; printf "'%s'" "${1//\'/$sq}" ;;
    *) printf '%s' "$1" ;;
  esac
}
run() {  # print (quoted as a shell would need it), then run unless --dry-run
  local line="+" a
  for a in "$@"; do line+=" $(shq "$a")"; done
  echo "$line"
  [ $DRY = 1 ] || "$@"
}

# The recipe of each backend: repository, pin, where it goes, which of our files go where in it.
configure() {
  case "$1" in
    minicpmv)
      NAME=MiniCPM-V; URL=$MINICPMV_REPO_URL; COMMIT=$MINICPMV_COMMIT
      CLONE=third_party/MiniCPM-V; VENV=.venv-minicpmv; REQ=requirements/minicpmv.txt
      MOD=modification/minicpm; DEST=finetune; INSTALL_CLONE=0; ENTRY=finetune/finetune.py
      PY_WANT=${PYTHON_MINICPMV:-${PYTHON_UPSTREAM:-python3.11}}; PY_OK="3.10 3.11" ;;
    tinyllava)
      NAME=TinyLLaVA_Factory; URL=$TINYLLAVA_REPO_URL; COMMIT=$TINYLLAVA_COMMIT
      CLONE=third_party/TinyLLaVA_Factory; VENV=.venv-tinyllava; REQ=requirements/tinyllava.txt
      MOD=modification/tinyllava; DEST=.; INSTALL_CLONE=1; ENTRY=tinyllava/train/custom_finetune.py
      # Not 3.11: its dataclasses (tinyllava/data/template) have instance defaults, which 3.11 refuses.
      PY_WANT=${PYTHON_TINYLLAVA:-${PYTHON_UPSTREAM:-python3.10}}; PY_OK="3.9 3.10" ;;
  esac
}

# Where each of our files lands inside the clone (relative to it).
dest_of() {
  local f=$1
  if [ "$NAME" = TinyLLaVA_Factory ] && [ "$f" = custom_finetune.sh ]; then echo "scripts/train/$f"
  elif [ "$DEST" = . ]; then echo "$f"; else echo "$DEST/$f"; fi
}

mod_files() { (cd "$MOD" && find . -maxdepth 1 -type f ! -name '*.pyc' -printf '%f\n' | sort); }

stamp_want() {
  { echo "$COMMIT"; cat "$REQ" requirements/core.txt pyproject.toml
    for f in $(mod_files); do cat "$MOD/$f"; done; } | sha256sum | cut -d' ' -f1
}

pick_python() {
  local py=$PY_WANT upper; upper=$(echo "$1" | tr a-z A-Z)
  # Under pyenv, python3.10 may be a shim of a version that is installed but not selected: use it directly.
  if ! "$py" -c '' >/dev/null 2>&1 && [[ $py == python3.* ]] && command -v pyenv >/dev/null 2>&1; then
    local cand
    for cand in "$(pyenv root)"/versions/"${py#python}".*/bin/"$py"; do
      if [ -x "$cand" ] && "$cand" -c '' >/dev/null 2>&1; then py=$cand; fi
    done
  fi
  if [ $DRY = 1 ] && ! "$py" -c '' >/dev/null 2>&1; then
    echo "setup_upstream: note: $py not found; a real run needs it (or PYTHON_$upper)"; PY=$py; return
  fi
  if ! command -v "$py" >/dev/null 2>&1; then
    die "$py not found. $NAME needs Python ${PY_OK// / or }: install $py, or set PYTHON_$upper to one."
  fi
  local v
  v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) ||
    die "$py is on the PATH but does not run (a pyenv shim of a version that is not selected?). Set PYTHON_$upper to the interpreter's full path."
  case " $PY_OK " in *" $v "*) ;; *) die "$py is Python $v; $NAME with the pins of $REQ needs Python ${PY_OK// / or } (set PYTHON_$upper)." ;; esac
  PY=$py
}

# A plain source folder copied in (no .git) carries this marker beside the UPSTREAM_COMMIT it came with.
SOURCE_MARK=.subtitle_vlm_source

is_git_source() {  # the source is something git can clone (a URL, a clone, a bare repository)
  case "$1" in *://*|*@*:*) return 0 ;; esac
  [ -e "$1/.git" ] || { [ -f "$1/HEAD" ] && [ -d "$1/objects" ]; }
}

recorded_commit() {  # the commit a source folder says it holds: first word of its UPSTREAM_COMMIT
  local w; read -r w _ < "$1/UPSTREAM_COMMIT" || true; echo "$w"
}

clone_state() {  # sets STATE: ok | absent | wrong | wrong-copy, HEAD_AT (the commit found), IS_COPY
  STATE=absent; HEAD_AT=""; IS_COPY=0
  [ -e "$CLONE" ] || return 0
  if ! git -C "$CLONE" rev-parse --git-dir >/dev/null 2>&1 || [ "$(git -C "$CLONE" rev-parse --show-toplevel)" != "$ROOT/$CLONE" ]; then
    # Not a clone of its own: a source folder this script copied in is fine, anything else is not ours.
    if [ -f "$CLONE/$SOURCE_MARK" ] && [ -f "$CLONE/UPSTREAM_COMMIT" ]; then
      HEAD_AT=$(recorded_commit "$CLONE"); IS_COPY=1
      case "$HEAD_AT" in "$COMMIT"*) STATE=ok ;; *) STATE=wrong-copy ;; esac
      return 0
    fi
    die "$CLONE exists but is not a git clone of $NAME; move it away and rerun"
  fi
  HEAD_AT=$(git -C "$CLONE" rev-parse HEAD 2>/dev/null || true)
  case "$HEAD_AT" in "$COMMIT"*) STATE=ok ;; *) STATE=wrong ;; esac
}

check_folder_source() {  # a plain source folder must say which commit it is, and be the pinned one
  [ -f "$URL/$ENTRY" ] || die "$URL is neither a git repository nor a $NAME source folder ($ENTRY is missing)"
  [ -f "$URL/UPSTREAM_COMMIT" ] || die "$URL has no UPSTREAM_COMMIT file, so its commit is unknown.
  Write the full hash of the commit its files come from into $URL/UPSTREAM_COMMIT (the pin is $COMMIT), or
  pass a git clone instead."
  local rec; rec=$(recorded_commit "$URL")
  case "$rec" in
    "$COMMIT"*) [ ${#rec} -ge 40 ] || die "$URL/UPSTREAM_COMMIT holds '$rec'; write the commit's full 40-character hash" ;;
    *) die "$URL holds $NAME at commit ${rec:-<empty>} (its UPSTREAM_COMMIT), not the pinned $COMMIT; nothing was changed" ;;
  esac
  say "$NAME from the source folder $URL (commit $rec, recorded in its UPSTREAM_COMMIT)"
}

check_github() {  # fail early, naming what could not be fetched
  say "checking that $URL is reachable (timeout ${NET_TIMEOUT}s)"
  [ $DRY = 1 ] && { echo "+ git ls-remote $URL HEAD"; return; }
  local err; err=$(mktemp)
  if ! GIT_TERMINAL_PROMPT=0 GIT_HTTP_LOW_SPEED_LIMIT=1000 GIT_HTTP_LOW_SPEED_TIME=$NET_TIMEOUT \
       timeout "$NET_TIMEOUT" git ls-remote "$URL" HEAD >/dev/null 2>"$err"; then
    local why; why=$(tail -n 1 "$err" 2>/dev/null || true); rm -f "$err"
    die "cannot reach $URL (${why:-no answer within ${NET_TIMEOUT}s}).
  Needed: git clone of $NAME at commit $COMMIT into $CLONE.
  Nothing was changed. Connect to the network and rerun, or clone it on a machine that can and copy the
  clone to $CLONE (or point ${2}_REPO_URL at a mirror or local clone)."
  fi
  rm -f "$err"
}

check_index() {  # the package index answers: fetch one small pinned wheel's metadata without installing
  local pin; pin=$(grep -E '^peft==' "$REQ")
  say "checking that the package index is reachable (timeout ${NET_TIMEOUT}s)"
  [ $DRY = 1 ] && { echo "+ $PY -m pip download --no-deps --dest <tmp> $pin"; return; }
  local tmp; tmp=$(mktemp -d)
  if ! PIP_DEFAULT_TIMEOUT=$NET_TIMEOUT PIP_RETRIES=0 timeout $((NET_TIMEOUT * 3)) \
       "$PY" -m pip download -q --no-deps --dest "$tmp" "$pin" >/dev/null 2>&1; then
    rm -rf "$tmp"
    die "cannot download from the Python package index (tried $pin).
  Needed: the packages pinned in $REQ and requirements/core.txt (torch, transformers, peft, deepspeed, ...).
  Nothing was changed. Connect to the network (or configure pip with an index that has them) and rerun."
  fi
  rm -rf "$tmp"
}

setup_one() {
  configure "$1"
  local upper; upper=$(echo "$1" | tr a-z A-Z)
  [ -d "$MOD" ] || die "$MOD is missing from this checkout"
  local want; want=$(stamp_want)
  clone_state; local state=$STATE
  local venv_ok=0
  if [ $INSTALL = 1 ] && [ -f "$VENV/.stamp" ] && [ "$(cat "$VENV/.stamp")" = "$want" ] && [ -x "$VENV/bin/python" ]; then venv_ok=1; fi
  if [ $INSTALL = 0 ] && [ -f "$CLONE/.subtitle_vlm_stamp" ] && [ "$(cat "$CLONE/.subtitle_vlm_stamp")" = "$want" ]; then venv_ok=1; fi
  if [ "$state" = ok ] && [ $venv_ok = 1 ] && [ $DRY = 0 ]; then
    say "$NAME is up to date ($CLONE at ${HEAD_AT:0:12}$([ $INSTALL = 1 ] && echo ", $VENV"))"
    return
  fi
  if [ $INSTALL = 1 ]; then pick_python "$1"; fi
  local from_folder=0
  if [ "$state" != ok ] && ! is_git_source "$URL"; then
    if [ -d "$URL" ]; then from_folder=1; URL=$(cd "$URL" && pwd -P); check_folder_source
    else case "$URL" in /*|./*|../*) die "source $URL does not exist (a git URL or a $NAME source folder was expected)" ;; esac; fi
  fi
  if [ "$state" = wrong-copy ]; then
    # A copy this script made from an older source folder: replace it (nothing of the user's lives there).
    say "$CLONE holds commit $HEAD_AT, not the pinned $COMMIT; replacing the copy"
    [ $from_folder = 1 ] || die "$CLONE is a copied source folder at $HEAD_AT, not $COMMIT, and $URL is a git source: remove $CLONE and rerun"
    run rm -rf "$CLONE"; state=absent; IS_COPY=0
  fi
  if [ "$state" = wrong ] && [ $from_folder = 1 ]; then
    die "$CLONE is a git clone at ${HEAD_AT:0:12}, not $COMMIT; a source folder cannot move it. Remove $CLONE (or check out $COMMIT in it) and rerun"
  fi

  # 1. Fail before changing anything when something that must be fetched is out of reach.
  local need_clone=0
  if [ "$state" != ok ] && [ $from_folder = 0 ]; then
    if [ "$state" = wrong ] && git -C "$CLONE" cat-file -e "$COMMIT^{commit}" 2>/dev/null; then need_clone=0
    else need_clone=1; check_github "$1" "$upper"; fi
  fi
  if [ $INSTALL = 1 ] && [ $venv_ok = 0 ]; then check_index; fi

  # 2. Clone and check out the pinned commit, then verify it. A fresh clone is made beside its final place
  # and moved there only once verified, so an interrupted run never leaves a half clone behind.
  local filter=()
  case "$URL" in http://*|https://*) filter=(--filter=blob:none) ;; esac  # fetch only the pinned tree's files
  local work=$CLONE
  if [ $from_folder = 1 ]; then
    # A plain folder has no history to check out: copy it, writable, and mark where it came from.
    work=third_party/.$(basename "$CLONE").partial
    run mkdir -p third_party
    run rm -rf "$work"
    run cp -R "$URL/." "$work"
    run chmod -R u+w "$work"
    echo "+ verify: $work/UPSTREAM_COMMIT starts with $COMMIT"
    if [ $DRY = 0 ]; then
      local rec; rec=$(recorded_commit "$work")
      case "$rec" in "$COMMIT"*) say "$NAME is at $rec (pinned $COMMIT, copied from $URL)" ;;
        *) die "$work records $rec, not the pinned $COMMIT; remove it and rerun" ;; esac
      printf 'source=%s\ncommit=%s\n' "$URL" "$rec" > "$work/$SOURCE_MARK"
    fi
  elif [ "$state" = absent ]; then
    work=third_party/.$(basename "$CLONE").partial
    run mkdir -p third_party
    run rm -rf "$work"
    run git clone "${filter[@]}" --no-checkout "$URL" "$work"
  elif [ $need_clone = 1 ]; then
    run git -C "$work" fetch "${filter[@]}" origin
  fi
  if [ "$state" != ok ] && [ $from_folder = 0 ]; then
    echo "+ git -C $work checkout --force --detach $COMMIT"
    if [ $DRY = 0 ] && ! git -C "$work" -c advice.detachedHead=false checkout -q --force --detach "$COMMIT"; then
      die "could not check out $COMMIT in $work (see git's message above); remove $work and rerun"
    fi
  fi
  if [ $from_folder = 1 ]; then :
  elif [ $IS_COPY = 1 ]; then
    say "$NAME is at $HEAD_AT (pinned $COMMIT, a copied source folder: $CLONE/UPSTREAM_COMMIT)"
  else echo "+ verify: git -C $work rev-parse HEAD starts with $COMMIT"; fi
  if [ $DRY = 0 ] && [ $from_folder = 0 ] && [ $IS_COPY = 0 ]; then
    local head; head=$(git -C "$work" rev-parse HEAD)
    case "$head" in "$COMMIT"*) say "$NAME is at $head (pinned $COMMIT)" ;;
      *) die "$work is at $head, not the pinned $COMMIT; remove it and rerun" ;; esac
  fi
  if [ "$work" != "$CLONE" ]; then run mv "$work" "$CLONE"; fi

  # 3. Our files, into the clone.
  local f
  for f in $(mod_files); do
    run install -D -m "$( [ -x "$MOD/$f" ] && echo 755 || echo 644 )" "$MOD/$f" "$CLONE/$(dest_of "$f")"
  done

  if [ $INSTALL = 0 ]; then
    [ $DRY = 1 ] || echo "$want" > "$CLONE/.subtitle_vlm_stamp"
    say "$NAME ready in $CLONE (no environment: --no-install)"
    return
  fi

  # 4. The pinned environment and our light core.
  [ -x "$VENV/bin/python" ] || run "$PY" -m venv "$VENV"
  run "$VENV/bin/python" -m pip install -q -r "$REQ" -r requirements/core.txt
  run "$VENV/bin/python" -m pip install -q --no-deps -e .
  if [ $INSTALL_CLONE = 1 ]; then run "$VENV/bin/python" -m pip install -q --no-deps -e "$CLONE"; fi
  run "$VENV/bin/python" -c "import torch, transformers, peft, deepspeed, subtitle_vlm.predict.runner as r; print(r.__name__, torch.__version__, transformers.__version__, peft.__version__, deepspeed.__version__)"
  if [ "$1" = minicpmv ]; then
    # finetune/trainer.py calls this peft method; older peft fails only at the first training step.
    run "$VENV/bin/python" -c "import peft; assert hasattr(peft.PeftModel, \"_enable_peft_forward_hooks\"), \"peft too old for finetune/trainer.py\""
  fi
  [ $DRY = 1 ] || echo "$want" > "$VENV/.stamp"
  say "$NAME ready: $VENV, $CLONE"
}

for b in "${WANT[@]}"; do setup_one "$b"; done
