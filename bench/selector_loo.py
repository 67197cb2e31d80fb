""".venv/bin/python bench/selector_loo.py [--train-seed 101 --more-train-seeds 103 --test-seed 202 --frames 400 --workers 2]

Does the learned subtitle selector generalise? Leave one factor out: for each font group, layout element,
subtitle style, background source and text convention, train the selector on frames WITHOUT it and measure
on frames WITH it. Training frames and test frames come from different synthesis seeds (``--train-seed``
makes the training pool, ``--test-seed`` the test pool); only training seeds may ever be used to tune.
A pool of seed S is S (``tv``) and S + 1 (``hard``).

Per cell, on the same PP-OCR detections of the test frames:
- ``learned``: the selector trained without the factor,
- ``naive``:   lines in the bottom 40% within a quarter width of the middle,
- ``oracle``:  the best contiguous run of PP-OCR's lines against gold (the ceiling of any line picker),
Each gets mean Levenshtein per frame (the competition metric), CER, exact match, frames whose output holds
another element (ticker, tag, logo, title, caption, scene text), subtitles dropped, invented punctuation per
100 frames. Targets per cell: learned mean Levenshtein <= 2 x oracle + 0.05, wrong element <= 1%, dropped
<= 1%, invented marks <= 1 per 100 frames. Also: selection time per frame (features + model + choice).

The pools are ``tv`` and ``hard`` frames half each, cached under ``--data`` with their detections, so a
rerun only retrains and re-scores. Prints one JSON line (all cells) and writes it to ``--out`` if given.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ELEMENTS = ("ticker", "tag", "bar", "logo", "title", "caption", "scene")


def build_pool(data: Path, seed: int, frames: int, workers: int) -> list[Path]:
    from subtitle_vlm.synth import SynthConfig, run_synth

    out = []
    for k, style in enumerate(("tv", "hard")):
        d = data / f"{style}_seed{seed + k}_n{frames // 2}"
        meta = d / "metadata.jsonl"
        if not (meta.exists() and sum(1 for _ in meta.open(encoding="utf-8")) >= frames // 2):
            run_synth(SynthConfig(out=str(d), count=frames // 2, seed=seed + k, style=style, workers=workers,
                                  progress=False))
        out.append(d)
    return out


def factors(rec: dict) -> dict:
    """The factors of one frame the cells split on (records of older synthesisers give fewer)."""
    lay = rec.get("layout") or {}
    f: dict = {}
    group = lay.get("font_group")
    if group is None and rec.get("subtitle"):
        try:
            from subtitle_vlm.synth.fonts import font_group

            group = font_group(rec["subtitle"]["font"])
        except (ImportError, TypeError, KeyError):
            group = None
    f["font_group"] = group
    f["subtitle_style"] = lay.get("subtitle_style")
    f["convention"] = lay.get("convention")
    ref = (rec.get("background") or {}).get("ref", "")
    f["background"] = ref.split("/")[0] if ref.startswith("photo:") else ref.split(":")[0]
    for el in ELEMENTS:
        f[el] = bool(lay.get(el))
    return f


def cells_of(test_rows: list[dict]) -> list[tuple[str, str, object]]:
    """(cell name, factor, value): every value seen among the test frames, and every element present."""
    cells = [("all", "", None)]
    for key in ("font_group", "subtitle_style", "convention", "background"):
        for v in sorted({r["factors"][key] for r in test_rows if r["factors"][key]}):
            cells.append((f"{key}={v}", key, v))
    for el in ELEMENTS:
        if any(r["factors"][el] for r in test_rows):
            cells.append((f"{el}", el, True))
    return cells


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train-seed", type=int, default=101, help="seed of the training pool (may be tuned on)")
    p.add_argument("--test-seed", type=int, default=202, help="seed of the test pool (report only)")
    p.add_argument("--more-train-seeds", type=int, nargs="*", default=[],
                   help="seeds of further training pools of --frames frames each (e.g. 103)")
    p.add_argument("--frames", type=int, default=400, help="frames per pool (half tv, half hard)")
    p.add_argument("--test-frames", type=int, default=0, help="frames in the test pool (default: --frames)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--data", default=str(HERE / "_data" / "selector_loo"), help="cache folder (git-ignored)")
    p.add_argument("--cells", nargs="*", default=None, help="only these cells (names as printed)")
    p.add_argument("--min-test", type=int, default=15, help="skip cells with fewer test frames")
    p.add_argument("--out", default=None, help="also write the JSON line here")
    a = p.parse_args(argv)

    from subtitle_vlm.engines.ppocr.reference import select_naive, select_oracle
    from subtitle_vlm.engines.ppocr.selector import LearnedSelector
    from subtitle_vlm.engines.ppocr.selector.detections import detect_frame_set
    from subtitle_vlm.engines.ppocr.selector.evaluate import evaluate_rows, summarise
    from subtitle_vlm.engines.ppocr.selector.labels import detection_roles, record_elements
    from subtitle_vlm.engines.ppocr.selector.train import fit_with_pairs, row_detections
    from subtitle_vlm.engines.ppocr.selector.train_selector_config import TrainSelectorConfig
    from subtitle_vlm.engines.ppocr.text import tidy_text

    data = Path(a.data)
    data.mkdir(parents=True, exist_ok=True)
    (data / ".gitignore").write_text("*\n", encoding="utf-8")
    cache = data / "detections"
    pools = {}
    for name, seeds, n in (("train", [a.train_seed] + a.more_train_seeds, a.frames),
                           ("test", [a.test_seed], a.test_frames or a.frames)):
        rows = []
        for seed in seeds:
            for d in build_pool(data, seed, n, a.workers):
                rows += detect_frame_set(d, cache, a.workers, progress=False)
        for r in rows:
            r["factors"] = factors(r["record"])
        pools[name] = rows
    train_all, test_all = pools["train"], pools["test"]

    # Reference selectors, once per test frame (they do not depend on the cell).
    ref: dict[str, dict] = {}
    for r in test_all:
        dets, _ = row_detections(r)
        w, h = r["w"], r["h"]
        gold = r["record"].get("text") or ""
        elements = record_elements(r["record"])
        keep = [d for d in dets if d.cy >= 0.6 * h and abs((d.box[0] + d.box[2]) / 2 - w / 2) <= 0.25 * w]
        naive_roles = detection_roles([d.box for d in keep], elements)
        ref[r["id"] + r["frames_dir"]] = {
            "naive": {"gold": gold, "pred": tidy_text(select_naive(dets, w, h)),
                      "wrong_element": any(x not in ("subtitle", "none") for x in naive_roles)},
            "oracle": {"gold": gold, "pred": tidy_text(select_oracle(dets, gold))}}

    cfg = TrainSelectorConfig(frames=["pool"], out="-", seed=a.train_seed)
    results = []
    select_ms = None
    for name, key, value in cells_of(test_all):
        if a.cells and name not in a.cells:
            continue
        if key:
            train = [r for r in train_all if r["factors"][key] != value]
            test = [r for r in test_all if r["factors"][key] == value]
        else:
            train, test = train_all, test_all
        if len(test) < a.min_test:
            results.append({"cell": name, "skipped": f"{len(test)} test frames < {a.min_test}"})
            continue
        model = fit_with_pairs(train, cfg)
        sel = LearnedSelector(model)

        def select(row):
            dets, strips = row_detections(row)
            return sel.select_measured(dets, strips, row["w"], row["h"])

        t0 = time.perf_counter()
        learned, _ = evaluate_rows(test, select)
        if select_ms is None:
            select_ms = round(1000 * (time.perf_counter() - t0) / len(test), 2)
        cell = {"cell": name, "train_frames": len(train), "test_frames": len(test), "learned": learned}
        for k in ("naive", "oracle"):
            items = [ref[r["id"] + r["frames_dir"]][k] for r in test if k in ref[r["id"] + r["frames_dir"]]]
            if items:
                cell[k] = summarise(items)
        orc = cell["oracle"]["mean_levenshtein"]
        cell["targets_met"] = {
            "mean_lev<=2*oracle+0.05": learned["mean_levenshtein"] <= 2 * orc + 0.05,
            "wrong_element<=1%": learned["wrong_element"] <= 0.01,
            "dropped<=1%": learned["dropped"] <= 0.01,
            "invented<=1/100": learned["invented_punct_per_100"] <= 1.0,
        }
        results.append(cell)
        print(f"{name:32s} n={len(test):4d} learned {learned['mean_levenshtein']:.3f} "
              f"oracle {orc:.3f} naive {cell['naive']['mean_levenshtein']:.3f} "
              f"wrong {learned['wrong_element']:.3f} dropped {learned['dropped']:.3f} "
              f"invented {learned['invented_punct_per_100']:.2f}", file=sys.stderr)
    line = {"bench": "selector_loo", "train_seeds": [a.train_seed] + a.more_train_seeds, "test_seed": a.test_seed,
            "train_frames": len(train_all), "test_frames": len(test_all),
            "select_ms_per_frame_cached": select_ms,
            "cells_meeting_all_targets": sum(1 for c in results if c.get("targets_met") and all(c["targets_met"].values())),
            "cells": results}
    text = json.dumps(line, ensure_ascii=False)
    print(text)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
