"""subtitle-vlm dataset --input FRAMESET_OR_TSV --out DIR [--train-ratio 0.9] [--seed 0] [--prompt TEXT] [--formats all]

Exports a labelled frame set (or the original ``name<TAB>sentence`` TSV; --images when its images live
elsewhere) as the files each trainer reads, split deterministically by seed:

    DIR/minicpmv/{train,val}.json           MiniCPM-V finetune (absolute image paths, role/content)
    DIR/tinyllava/{train,val}.json          TinyLLaVA_Factory (paths relative to info.json's image_folder)
    DIR/messages/{train,val}.jsonl          ms-swift / LLaMA-Factory / native trainer (messages + images)
    DIR/imagefolder/{train,val}/            datasets.load_dataset("imagefolder", data_dir=DIR/imagefolder)
    DIR/gold/val.csv                        Kaggle id,text of the val split, for `subtitle-vlm score`
    DIR/splits/{train,val}.txt              the ids of each split
    DIR/dataset_config.json, DIR/summary.json   resolved options; counts and skipped records with reasons

Check any such file against its trainer's rules (exit 2 when a record is bad):

    subtitle-vlm dataset --check DIR/minicpmv/train.json [MORE_FILES ...] [--format F] [--image-folder DIR]
"""

from __future__ import annotations

import json
import sys

from subtitle_vlm.config import add_dataclass_arguments, build_config, make_parser
from subtitle_vlm.data.check import CHECK_FORMATS, check_file
from subtitle_vlm.data.dataset_config import DatasetConfig


def run_check(files: list[str], fmt: str | None = None, image_folder: str | None = None) -> int:
    bad = 0
    for f in files:
        problems = check_file(f, fmt, image_folder)
        for p in problems:
            print(p)
        if problems:
            bad += 1
            print(f"{f}: {len(problems)} problem(s)", file=sys.stderr)
        else:
            print(f"{f}: OK")
    return 2 if bad else 0


def main(argv: list[str] | None = None) -> int:
    p = make_parser("subtitle-vlm dataset", __doc__)
    p.add_argument("--check", nargs="+", metavar="FILE", help="validate dataset files instead of exporting")
    p.add_argument("--format", choices=CHECK_FORMATS, help="with --check: the files' format (default: detected)")
    p.add_argument("--image-folder", help="with --check: the folder TinyLLaVA image paths are relative to "
                                          "(default: image_folder in info.json beside the file)")
    add_dataclass_arguments(p, DatasetConfig)
    ns = vars(p.parse_args(argv))
    check, fmt, image_folder, cfg_file = (ns.pop(k, None) for k in ("check", "format", "image_folder", "config"))
    if check:
        return run_check(check, fmt, image_folder)

    from subtitle_vlm.data.export import run_dataset

    cfg = build_config(DatasetConfig, ns, cfg_file)
    summary = run_dataset(cfg)
    brief = {k: summary[k] for k in ("out", "counts", "no_subtitle", "skipped", "skipped_by_reason")}
    print(json.dumps(brief, ensure_ascii=False))
    for s in summary["skipped_records"][:10]:
        print(f"skipped {s['where']}: {s['reason']}", file=sys.stderr)
    if summary["skipped"] > 10:
        print(f"... {summary['skipped'] - 10} more skipped records in {summary['out']}/summary.json", file=sys.stderr)
    return 0
