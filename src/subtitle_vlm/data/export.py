"""Run one export: load samples, split them, write every requested format, check what was written, and
save the resolved config and a summary beside the output."""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from pathlib import Path

from subtitle_vlm.config import save_config
from subtitle_vlm.data import gold, imagefolder, messages, minicpmv, tinyllava
from subtitle_vlm.data.check import check_file
from subtitle_vlm.data.dataset_config import DatasetConfig
from subtitle_vlm.data.sources import load_samples
from subtitle_vlm.data.splits import split_samples
from subtitle_vlm.io import InputError, atomic_write_json, atomic_write_text, check_writable_dir

log = logging.getLogger(__name__)

WRITERS = {m.NAME: m.write for m in (minicpmv, tinyllava, messages, imagefolder, gold)}
CONFIG_NAME = "dataset_config.json"
SUMMARY_NAME = "summary.json"
SHOWN_SKIPS = 20


def _skips_message(source: Path, skipped) -> str:
    shown = "\n  ".join(str(s) for s in skipped[:SHOWN_SKIPS])
    more = f"\n  ... and {len(skipped) - SHOWN_SKIPS} more" if len(skipped) > SHOWN_SKIPS else ""
    return f"{source}: {len(skipped)} bad record(s):\n  {shown}{more}"


def run_dataset(cfg: DatasetConfig) -> dict:
    """Write the dataset files under ``cfg.out``; returns the summary (also saved as summary.json)."""
    loaded = load_samples(cfg.input, cfg.images, verify_images=cfg.verify_images)
    if cfg.strict and loaded.skipped:
        raise InputError(_skips_message(loaded.source, loaded.skipped) + "\nfix them, or drop --strict to skip them")
    if not loaded.samples:
        detail = ("\n" + _skips_message(loaded.source, loaded.skipped)) if loaded.skipped else ""
        raise InputError(f"{loaded.source}: no usable labelled frames; nothing to export{detail}")
    if Path(os.path.abspath(cfg.out)) == loaded.root:
        raise InputError(f"{cfg.out}: --out is the input folder itself; choose a separate output folder")
    out = check_writable_dir(cfg.out)
    splits = split_samples(loaded.samples, cfg.train_ratio, cfg.seed)
    if not splits["val"]:
        log.warning("the val split is empty (train ratio %s with %d samples); trainers that evaluate need one",
                    cfg.train_ratio, len(loaded.samples))

    link_stats: Counter = Counter()
    written: dict[str, list[str]] = {}
    for fmt in cfg.format_list:
        paths = WRITERS[fmt](out, splits, cfg.prompt, image_folder=loaded.root, link=cfg.imagefolder_link,
                             stats=link_stats)
        written[fmt] = [str(p) for p in paths]
    for split, samples in splits.items():
        atomic_write_text(out / "splits" / f"{split}.txt", "".join(f"{s.id}\n" for s in samples))

    problems = []
    for fmt, paths in written.items():
        for p in paths:
            if not p.endswith("info.json"):
                problems += [str(x) for x in check_file(p, fmt)]
    if problems:  # our own output breaking the trainers' rules is a bug, not bad input
        raise RuntimeError("exported files failed their check:\n  " + "\n  ".join(problems[:SHOWN_SKIPS]))

    save_config(cfg, out / CONFIG_NAME)
    summary = {
        "input": str(loaded.source),
        "image_folder": str(loaded.root),
        "out": str(Path(os.path.abspath(out))),
        "seed": cfg.seed,
        "train_ratio": cfg.train_ratio,
        "counts": {split: len(s) for split, s in splits.items()},
        "no_subtitle": {split: sum(1 for x in s if not x.text) for split, s in splits.items()},
        "formats": written,
        "imagefolder_links": dict(link_stats),
        "skipped": len(loaded.skipped),
        "skipped_by_reason": dict(Counter(_reason_kind(s.reason) for s in loaded.skipped)),
        "skipped_records": [{"where": s.where, "reason": s.reason} for s in loaded.skipped],
        "checked": True,
    }
    atomic_write_json(out / SUMMARY_NAME, summary)
    return summary


def _reason_kind(reason: str) -> str:
    """A short bucket for the summary's counts ("image not found: /x.jpg" -> "image not found",
    "file_name '/a.jpg' is absolute; ..." -> "file_name is absolute")."""
    reason = re.sub(r"^(file_name|id) (['\"]).*?\2 ", r"\1 ", reason)
    return reason.split(":")[0].split(" (")[0].split(";")[0].strip()
