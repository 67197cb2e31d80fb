"""Stock versus fine-tuned PP-OCR recogniser on held-out synthetic subtitle lines (prints one JSON line).

    .venv/bin/python bench/rec_finetune.py prepare                    # sentence split + frame sets
    .venv/bin/subtitle-vlm train-rec --frames bench/_data/rec/train_tv_s101 bench/_data/rec/train_hard_s102 \\
        --eval-frames bench/_data/rec/tune_tv_s103 --out runs/rec ...  # (docs/rec.md has the full command)
    .venv/bin/python bench/rec_finetune.py measure --run runs/rec       # the JSON line

The data recipe (all under bench/_data/rec/):
- sentences: the built-in corpus split by a hash of each sentence, 70% for training (``train.txt``) and
  30% that no training frame shows (``test.txt``), so a test line is never a sentence seen in training;
- fonts: a training pool (Noto Sans CJK, WenQuanYi, Noto Serif CJK, AR PL UMing) and a held-out group the
  training never sees (kai: AR PL UKai, LXGW WenKai);
- training frames: tv style seed 101 (700 frames) and hard style seed 102 (300); tuning frames (used during
  training for eval CER and for choosing settings): tv seed 103 (80);
- test frames (measured only): kai tv seed 201, kai hard seed 202, training fonts tv seed 204 (held-out
  sentences, fonts seen), default fonts clean seed 203;
- a second round leaves serif out instead: training sans + kai (tv seed 111, hard seed 112, tuning seed
  113), measured on serif tv seed 205 and serif hard seed 206 (and clean seed 203).

``measure`` reads each test line through RapidOCR's recognition alone (``use_det=False``, as the engine's
second pass does), on the record's ink box of the line grown by the detector's typical margins (see
``rec.crops.DETECTOR_MARGINS``), once with the stock model and once with ``--run``'s ``rec.onnx``: CER,
mean Levenshtein per line, punctuation accuracy (per gold full-width mark, aligned), exact lines, and the
characters most often confused; training cost comes from the run's ``summary.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "_data" / "rec"
PY = ROOT / ".venv" / "bin" / "python"
CLI = ROOT / ".venv" / "bin" / "subtitle-vlm"

FONTS = Path("/usr/share/fonts")
FONT_GROUPS = {
    "sans": [FONTS / "opentype/noto/NotoSansCJK-Regular.ttc", FONTS / "opentype/noto/NotoSansCJK-Bold.ttc",
             FONTS / "truetype/wqy/wqy-zenhei.ttc", FONTS / "truetype/wqy/wqy-microhei.ttc"],
    "serif": [FONTS / "opentype/noto/NotoSerifCJK-Regular.ttc", FONTS / "opentype/noto/NotoSerifCJK-Bold.ttc",
              FONTS / "truetype/arphic/uming.ttc"],
    "kai": [FONTS / "truetype/arphic/ukai.ttc", FONTS / "truetype/lxgw-wenkai"],
}
TRAIN_GROUPS = ("sans", "serif")

# name: (style, seed, count, font groups or None for the synthesiser's default fonts, sentence split)
SETS = {
    "train_tv_s101": ("tv", 101, 700, TRAIN_GROUPS, "train"),
    "train_hard_s102": ("hard", 102, 300, TRAIN_GROUPS, "train"),
    "tune_tv_s103": ("tv", 103, 80, TRAIN_GROUPS, "train"),
    "test_kai_tv_s201": ("tv", 201, 200, ("kai",), "test"),
    "test_kai_hard_s202": ("hard", 202, 200, ("kai",), "test"),
    "test_clean_default_s203": ("clean", 203, 150, None, "test"),
    "test_trainfonts_tv_s204": ("tv", 204, 150, TRAIN_GROUPS, "test"),
    # The second leave-one-out round: serif held out, kai seen.
    "train_sk_tv_s111": ("tv", 111, 700, ("sans", "kai"), "train"),
    "train_sk_hard_s112": ("hard", 112, 300, ("sans", "kai"), "train"),
    "tune_sk_tv_s113": ("tv", 113, 80, ("sans", "kai"), "train"),
    "test_serif_tv_s205": ("tv", 205, 200, ("serif",), "test"),
    "test_serif_hard_s206": ("hard", 206, 200, ("serif",), "test"),
}
# Round 1 (kai held out) is measured on these; round 2 on test_serif_* and test_clean_default_s203.
TEST_SETS = ["test_kai_tv_s201", "test_kai_hard_s202", "test_clean_default_s203", "test_trainfonts_tv_s204"]
PUNCT = set("，。！？、：；「」『』·…（）")


def split_sentences() -> dict[str, Path]:
    from subtitle_vlm.text.sources import load_sentences

    DATA.mkdir(parents=True, exist_ok=True)
    sents = load_sentences(None)
    parts: dict[str, list[str]] = {"train": [], "test": []}
    for s in sents:
        h = int(hashlib.sha1(s.encode("utf-8")).hexdigest()[:8], 16) % 10
        parts["train" if h < 7 else "test"].append(s)
    paths = {}
    for name, rows in parts.items():
        p = DATA / f"sentences_{name}.txt"
        p.write_text("".join(r + "\n" for r in rows), encoding="utf-8")
        paths[name] = p
    return paths


def fonts_of(groups) -> list[str]:
    out = []
    for g in groups:
        out += [str(p) for p in FONT_GROUPS[g]]
    missing = [p for p in out if not Path(p).exists()]
    if missing:
        sys.exit(f"fonts missing on this machine: {missing} (Debian: fonts-noto-cjk fonts-arphic-ukai "
                 "fonts-arphic-uming fonts-wqy-zenhei fonts-wqy-microhei fonts-lxgw-wenkai)")
    return out


def prepare(only: list[str] | None = None) -> None:
    paths = split_sentences()
    for name, (style, seed, count, groups, split) in SETS.items():
        if only and name not in only:
            continue
        cmd = ["nice", "-n", "10", str(CLI), "synth", "--out", str(DATA / name), "--count", str(count),
               "--seed", str(seed), "--style", style, "--sentences", str(paths[split]), "--no-progress"]
        if groups:
            cmd += ["--fonts", *fonts_of(groups)]
        print("+", " ".join(cmd), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True)


# ------------------------------------------------------------------ measuring
def _align_punct(gold: str, hyp: str) -> tuple[int, int]:
    """(gold marks read as the same mark at the aligned place, gold marks)."""
    import rapidfuzz.distance.Levenshtein as L

    total = sum(1 for c in gold if c in PUNCT)
    ok = 0
    for tag, i1, i2, j1, j2 in L.opcodes(gold, hyp):
        if tag == "equal":
            ok += sum(1 for c in gold[i1:i2] if c in PUNCT)
    return ok, total


def _confusions(gold: str, hyp: str, counter: Counter) -> None:
    import rapidfuzz.distance.Levenshtein as L

    for tag, i1, i2, j1, j2 in L.opcodes(gold, hyp):
        if tag == "replace":
            for a, b in zip(gold[i1:i2], hyp[j1:j2]):
                counter[f"{a}>{b}"] += 1
            for a in gold[i1 + (j2 - j1):i2]:
                counter[f"{a}>"] += 1
        elif tag == "delete":
            for a in gold[i1:i2]:
                counter[f"{a}>"] += 1
        elif tag == "insert":
            for b in hyp[j1:j2]:
                counter[f">{b}"] += 1


def score_lines(golds: list[str], hyps: list[str]) -> dict:
    from subtitle_vlm.text.metrics import levenshtein

    dist = sum(levenshtein(g, h) for g, h in zip(golds, hyps))
    chars = sum(len(g) for g in golds)
    p_ok = p_total = 0
    conf: Counter = Counter()
    for g, h in zip(golds, hyps):
        a, b = _align_punct(g, h)
        p_ok, p_total = p_ok + a, p_total + b
        _confusions(g, h, conf)
    return {"lines": len(golds), "cer": round(dist / max(1, chars), 4),
            "mean_levenshtein": round(dist / max(1, len(golds)), 4),
            "exact": round(sum(g == h for g, h in zip(golds, hyps)) / max(1, len(golds)), 4),
            "punct_acc": round(p_ok / max(1, p_total), 4), "punct_marks": p_total,
            "top_confusions": conf.most_common(10)}


def read_set(name: str, ocr) -> tuple[list[str], list[str], float]:
    from PIL import Image
    import numpy as np

    from subtitle_vlm.engines.ppocr.rec.crops import detector_box, line_boxes
    from subtitle_vlm.io import read_frame_set

    golds, hyps, secs = [], [], 0.0
    for fr in read_frame_set(DATA / name):
        lines = line_boxes(fr.record or {})
        if not lines:
            continue
        bgr = np.asarray(Image.open(fr.path).convert("RGB"))[:, :, ::-1]
        H, W = bgr.shape[:2]
        for text, ink in lines:
            x0, y0, x1, y1 = detector_box(ink, W, H)
            crop = np.ascontiguousarray(bgr[y0:y1, x0:x1])
            t = time.perf_counter()
            out = ocr(crop, use_det=False, use_cls=False, use_rec=True)
            secs += time.perf_counter() - t
            golds.append(text)
            hyps.append(str(out.txts[0]) if getattr(out, "txts", None) else "")
    return golds, hyps, secs


def measure(run: Path, sets: list[str]) -> dict:
    from subtitle_vlm.engines.ppocr.engine import PPOCROptions, _new_rapidocr

    engines = {"stock": _new_rapidocr(PPOCROptions(threads=2)),
               "finetuned": _new_rapidocr(PPOCROptions(threads=2, rec_model=str(run)))}
    result: dict = {"bench": "rec_finetune", "run": str(run), "sets": {}}
    for name in sets:
        row = {}
        for label, ocr in engines.items():
            golds, hyps, secs = read_set(name, ocr)
            row[label] = score_lines(golds, hyps)
            row[label]["ms_per_line"] = round(1000 * secs / max(1, len(golds)), 2)
        row["cer_ratio_stock_over_finetuned"] = (round(row["stock"]["cer"] / row["finetuned"]["cer"], 2)
                                                 if row["finetuned"]["cer"] else None)
        result["sets"][name] = row
        print(f"{name}: stock CER {row['stock']['cer']} finetuned CER {row['finetuned']['cer']}",
              file=sys.stderr, flush=True)
    summary = run / "summary.json"
    if summary.is_file():
        s = json.loads(summary.read_text(encoding="utf-8"))
        result["training"] = {k: s.get(k) for k in ("steps", "train_runtime", "seconds_per_step", "peak_memory_mb",
                                                     "peak_memory_kind", "train_samples", "trainable", "freeze_bn",
                                                     "seed", "best_eval_cer", "final_eval_cer")}
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="sentence split and frame sets under bench/_data/rec/")
    p.add_argument("--only", nargs="*", help="make only these sets")
    m = sub.add_parser("measure", help="stock vs fine-tuned recognition on the test sets")
    m.add_argument("--run", required=True, type=Path, help="a train-rec output folder (with rec.onnx)")
    m.add_argument("--sets", nargs="*", default=TEST_SETS)
    m.add_argument("--out", type=Path, help="also write the JSON line to this file")
    args = ap.parse_args(argv)
    if args.cmd == "prepare":
        prepare(args.only)
        return 0
    res = measure(args.run, args.sets)
    line = json.dumps(res, ensure_ascii=False)
    print(line)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(line + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
