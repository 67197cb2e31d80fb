"""scripts/setup_upstream.sh: dry run, fail-fast without network, clone + verify + copy, idempotence.

A throw-away project root holds a copy of the script, requirements/ and modification/; a local git
repository stands in for GitHub (MINICPMV_REPO_URL), pinned by MINICPMV_COMMIT. --no-install skips the
virtual environment (its pins are checked by pip's resolver, see docs/upstream.md).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = "scripts/setup_upstream.sh"


def _fake_root(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(REPO / SCRIPT, root / SCRIPT)
    for name in ("requirements", "modification"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def _git(*args, cwd=None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def _upstream_repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A repository shaped like MiniCPM-V (finetune/finetune.py) with two commits; returns (path, c1, c2)."""
    up = tmp_path / "upstream"
    (up / "finetune").mkdir(parents=True)
    _git("init", "-q", str(up))
    (up / "finetune" / "finetune.py").write_text("print('v1')\n")
    (up / "finetune" / "finetune_lora.sh").write_text("echo upstream\n")
    _git("add", ".", cwd=up)
    _git("commit", "-q", "-m", "one", cwd=up)
    c1 = _git("rev-parse", "HEAD", cwd=up)
    (up / "finetune" / "finetune.py").write_text("print('v2')\n")
    _git("commit", "-q", "-am", "two", cwd=up)
    c2 = _git("rev-parse", "HEAD", cwd=up)
    return up, c1, c2


def _run(root: Path, *args, **env) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", SCRIPT, *args], cwd=root, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_dry_run_prints_every_step_and_changes_nothing(tmp_path):
    root = _fake_root(tmp_path)
    before = sorted(p.name for p in root.iterdir())
    r = _run(root, "--all", "--dry-run")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for needle in ("git ls-remote https://github.com/OpenBMB/MiniCPM-V.git",
                   "git clone --filter=blob:none --no-checkout https://github.com/OpenBMB/MiniCPM-V.git",
                   "checkout --force --detach 9bd93a2", "rev-parse HEAD starts with 9bd93a2",
                   "checkout --force --detach 6c581c3", "rev-parse HEAD starts with 6c581c3",
                   "modification/minicpm/finetune_lora.sh third_party/MiniCPM-V/finetune/finetune_lora.sh",
                   "modification/minicpm/ds_config_zero3.json third_party/MiniCPM-V/finetune/ds_config_zero3.json",
                   "modification/minicpm/merge.py", "modification/minicpm/multi_gpu_inference.py",
                   "modification/minicpm/cpu_inference.py",
                   "third_party/TinyLLaVA_Factory/scripts/train/custom_finetune.sh",
                   "modification/tinyllava/inference.py third_party/TinyLLaVA_Factory/inference.py",
                   "-m venv .venv-minicpmv", "-m venv .venv-tinyllava",
                   "pip install -q -r requirements/minicpmv.txt -r requirements/core.txt",
                   "pip install -q -r requirements/tinyllava.txt -r requirements/core.txt",
                   "pip install -q --no-deps -e .", "pip install -q --no-deps -e third_party/TinyLLaVA_Factory",
                   "_enable_peft_forward_hooks"):
        assert needle in out, f"missing step: {needle}\n{out}"
    assert sorted(p.name for p in root.iterdir()) == before


def test_no_network_fails_early_naming_what_it_needed(tmp_path):
    root = _fake_root(tmp_path)
    t0 = time.monotonic()
    # Port 9 on loopback refuses at once: the same path as an unreachable GitHub, without waiting on DNS.
    r = _run(root, "--minicpmv", MINICPMV_REPO_URL="http://127.0.0.1:9/OpenBMB/MiniCPM-V.git", SETUP_NET_TIMEOUT="10")
    assert r.returncode != 0
    assert time.monotonic() - t0 < 15
    assert "cannot reach http://127.0.0.1:9/OpenBMB/MiniCPM-V.git" in r.stderr
    assert "Needed: git clone of MiniCPM-V at commit 9bd93a2 into third_party/MiniCPM-V" in r.stderr
    assert not (root / "third_party").exists() and not (root / ".venv-minicpmv").exists()


def _github_resolves() -> bool:
    try:
        socket.getaddrinfo("github.com", 443)
        return True
    except OSError:
        return False


@pytest.mark.skipif(_github_resolves(), reason="github.com is reachable here; the offline path is tested above")
def test_default_github_url_unreachable_fails_fast(tmp_path):
    root = _fake_root(tmp_path)
    t0 = time.monotonic()
    r = _run(root, "--tinyllava", SETUP_NET_TIMEOUT="20")
    assert r.returncode != 0 and time.monotonic() - t0 < 25
    assert "cannot reach https://github.com/TinyLLaVA/TinyLLaVA_Factory.git" in r.stderr
    assert "at commit 6c581c3 into third_party/TinyLLaVA_Factory" in r.stderr


def test_clone_verify_copy_then_idempotent(tmp_path):
    root = _fake_root(tmp_path)
    up, c1, c2 = _upstream_repo(tmp_path)
    env = {"MINICPMV_REPO_URL": str(up), "MINICPMV_COMMIT": c1[:7]}
    r = _run(root, "--minicpmv", "--no-install", **env)
    assert r.returncode == 0, r.stdout + r.stderr
    clone = root / "third_party" / "MiniCPM-V"
    assert _git("rev-parse", "HEAD", cwd=clone) == c1          # the pinned commit, not the newest
    assert (clone / "finetune" / "finetune.py").read_text() == "print('v1')\n"
    for f in (root / "modification" / "minicpm").iterdir():    # our files replace upstream's
        assert (clone / "finetune" / f.name).read_bytes() == f.read_bytes()
    assert os.access(clone / "finetune" / "finetune_lora.sh", os.X_OK)
    assert not list((root / "third_party").glob(".*partial"))

    r2 = _run(root, "--minicpmv", "--no-install", **env)
    assert r2.returncode == 0 and "up to date" in r2.stdout, r2.stdout + r2.stderr

    # Someone moved the clone to another commit: the rerun puts it back without fetching (URL now dead).
    _git("checkout", "-q", c2, cwd=clone)
    r3 = _run(root, "--minicpmv", "--no-install", MINICPMV_REPO_URL="http://127.0.0.1:9/x.git",
              MINICPMV_COMMIT=c1[:7])
    assert r3.returncode == 0, r3.stdout + r3.stderr
    assert _git("rev-parse", "HEAD", cwd=clone) == c1

    # A changed launcher is copied again.
    (root / "modification" / "minicpm" / "merge.py").write_text("# changed\n")
    r4 = _run(root, "--minicpmv", "--no-install", **env)
    assert r4.returncode == 0 and (clone / "finetune" / "merge.py").read_text() == "# changed\n"


def test_unknown_commit_fails_and_leaves_no_clone(tmp_path):
    root = _fake_root(tmp_path)
    up, _, _ = _upstream_repo(tmp_path)
    r = _run(root, "--minicpmv", "--no-install", MINICPMV_REPO_URL=str(up), MINICPMV_COMMIT="deadbee")
    assert r.returncode != 0
    assert "deadbee" in r.stderr
    assert not (root / "third_party" / "MiniCPM-V").exists()


def test_a_folder_that_is_not_a_clone_is_not_touched(tmp_path):
    root = _fake_root(tmp_path)
    (root / "third_party" / "MiniCPM-V").mkdir(parents=True)
    keep = root / "third_party" / "MiniCPM-V" / "mine.txt"
    keep.write_text("x")
    r = _run(root, "--minicpmv", "--no-install", MINICPMV_REPO_URL="http://127.0.0.1:9/x.git")
    assert r.returncode != 0 and "is not a git clone" in r.stderr
    assert keep.read_text() == "x"


def test_unreachable_package_index_fails_before_cloning(tmp_path):
    root = _fake_root(tmp_path)
    up, c1, _ = _upstream_repo(tmp_path)
    pip_off = {"PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_FIND_LINKS": "",
               "PIP_EXTRA_INDEX_URL": "", "PIP_CONSTRAINT": ""}
    t0 = time.monotonic()
    r = _run(root, "--minicpmv", MINICPMV_REPO_URL=str(up), MINICPMV_COMMIT=c1[:7], SETUP_NET_TIMEOUT="5", **pip_off)
    assert r.returncode != 0 and time.monotonic() - t0 < 30
    assert "cannot download from the Python package index (tried peft==0.11.1)" in r.stderr
    assert "requirements/minicpmv.txt" in r.stderr
    assert not (root / "third_party").exists() and not (root / ".venv-minicpmv").exists()


def _source_folder(tmp_path: Path, commit: str | None) -> Path:
    """A plain (read-only) folder of MiniCPM-V's files, as an offline snapshot; commit -> UPSTREAM_COMMIT."""
    src = tmp_path / "snapshot"
    (src / "finetune").mkdir(parents=True)
    (src / "finetune" / "finetune.py").write_text("print('snapshot')\n")
    (src / "finetune" / "finetune_lora.sh").write_text("echo upstream\n")
    if commit is not None:
        (src / "UPSTREAM_COMMIT").write_text(commit + "\n")
    for p in sorted(src.rglob("*"), reverse=True):  # read-only like a shared snapshot, folders included
        p.chmod(0o555 if p.is_dir() else 0o444)
    src.chmod(0o555)
    return src


FULL = "9bd93a281cf0da7e23dd11d597fe044bc92c9dbd"


def test_source_folder_with_its_commit_is_copied_without_network(tmp_path):
    root = _fake_root(tmp_path)
    src = _source_folder(tmp_path, FULL)
    before = sorted(str(p.relative_to(src)) for p in src.rglob("*"))
    r = _run(root, "--minicpmv", "--no-install", "--minicpmv-source", str(src))
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"commit {FULL}, recorded in its UPSTREAM_COMMIT" in r.stdout
    assert "ls-remote" not in r.stdout                   # nothing fetched
    clone = root / "third_party" / "MiniCPM-V"
    assert (clone / "finetune" / "finetune.py").read_text() == "print('snapshot')\n"
    for f in (root / "modification" / "minicpm").iterdir():    # our files land in the (writable) copy
        assert (clone / "finetune" / f.name).read_bytes() == f.read_bytes()
    assert f"commit={FULL}" in (clone / ".subtitle_vlm_source").read_text()
    assert sorted(str(p.relative_to(src)) for p in src.rglob("*")) == before   # the source is untouched
    r2 = _run(root, "--minicpmv", "--no-install")          # no source given: the copy is recognised
    assert r2.returncode == 0 and "up to date (third_party/MiniCPM-V at 9bd93a281cf0" in r2.stdout, r2.stdout + r2.stderr
    (root / "modification" / "minicpm" / "merge.py").write_text("# changed\n")
    r3 = _run(root, "--minicpmv", "--no-install")
    assert r3.returncode == 0 and (clone / "finetune" / "merge.py").read_text() == "# changed\n", r3.stderr


@pytest.mark.parametrize("commit, message", [
    ("1111111111111111111111111111111111111111", "holds MiniCPM-V at commit 1111111111111111111111111111111111111111"),
    (None, "has no UPSTREAM_COMMIT file"),
    ("9bd93a2", "write the commit's full 40-character hash"),
])
def test_source_folder_of_another_or_unknown_commit_is_refused(tmp_path, commit, message):
    root = _fake_root(tmp_path)
    src = _source_folder(tmp_path, commit)
    r = _run(root, "--minicpmv", "--no-install", "--minicpmv-source", str(src))
    assert r.returncode != 0 and message in r.stderr, r.stderr
    assert not (root / "third_party").exists()


def test_setup_envs_passes_the_source_on(tmp_path):
    root = _fake_root(tmp_path)
    shutil.copy2(REPO / "setup_envs.sh", root / "setup_envs.sh")
    src = _source_folder(tmp_path, FULL)
    r = subprocess.run(["bash", "setup_envs.sh", "--minicpmv", "--dry-run", "--minicpmv-source", str(src)], cwd=root,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"cp -R {src}/. third_party/.MiniCPM-V.partial" in r.stdout and "git clone" not in r.stdout
    assert not (root / "third_party").exists()
