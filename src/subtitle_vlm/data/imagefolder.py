"""Hugging Face ``imagefolder`` splits: ``imagefolder/<split>/metadata.jsonl`` plus the images beside it.

``datasets`` (5.x) refuses a ``file_name`` that is absolute or climbs out with ``../`` (a path traversal
guard), so the images must sit under each split's folder. They are hardlinked there (no extra disk, and
they survive moving or deleting the frame set), or symlinked when the output is on another filesystem, or
copied on request. Each split folder is built beside the old one and swapped in, so a rerun with another
seed leaves no stale images behind and a crash leaves the previous export whole.

    datasets.load_dataset("imagefolder", data_dir="OUT/imagefolder")   # splits "train" and "validation"
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from subtitle_vlm.data.sources import Sample
from subtitle_vlm.io import METADATA_NAME, InputError, write_jsonl

NAME = "imagefolder"


def _place(src: Path, dst: Path, mode: str) -> str:
    """Put ``src`` at ``dst`` by ``mode``; returns the way it was done."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if mode in ("auto", "hardlink"):
        try:
            os.link(src, dst)
            return "hardlink"
        except OSError:
            if mode == "hardlink":
                raise
    if mode in ("auto", "symlink"):
        os.symlink(src, dst)
        return "symlink"
    shutil.copy2(src, dst)
    return "copy"


def _swap_in(staging: Path, final: Path) -> None:
    old = None
    if final.exists() or final.is_symlink():
        if not final.is_dir():
            raise InputError(f"{final}: a file is in the way of the {final.name} split folder; "
                             "move it away or choose another --out")
        if not (final / METADATA_NAME).is_file() and any(final.iterdir()):
            raise InputError(f"{final}: exists and is not an imagefolder export (no {METADATA_NAME}); "
                             "choose another --out or move that folder away")
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
        os.rename(final, old / final.name)
    os.rename(staging, final)
    if old is not None:
        shutil.rmtree(old)


def write(out: Path, splits: dict[str, list[Sample]], prompt: str = "", *, link: str = "auto",
          stats: Counter | None = None, **_) -> list[Path]:
    base = out / NAME
    if base.exists() and not base.is_dir():
        raise InputError(f"{base}: a file is in the way of the imagefolder export; move it away or choose another --out")
    base.mkdir(parents=True, exist_ok=True)
    paths = []
    for split, samples in splits.items():
        staging = Path(tempfile.mkdtemp(prefix=f".{split}.tmp-", dir=base))
        try:
            for s in samples:
                how = _place(s.image, staging / s.rel, link)
                if stats is not None:
                    stats[how] += 1
            write_jsonl(staging / METADATA_NAME,
                        ({"file_name": s.rel, "id": s.id, "text": s.text} for s in samples))
            _swap_in(staging, base / split)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        paths.append(base / split / METADATA_NAME)
    return paths
