"""subtitle-vlm merge --adapter runs/tiny --out runs/tiny-merged [--overwrite] [--model BASE] [--dtype float32]

Merges a LoRA adapter (a run directory or one of its checkpoint-N folders) into its base model and writes a
directory that loads alone with ``AutoModelForImageTextToText.from_pretrained``: weights, processor, chat
template, generation config and run_config.json. The merged model's logits on a sample frame are compared
with base + adapter (in memory and after reloading the saved folder); the largest absolute difference is
printed and must be under --tolerance, else nothing is written. An existing --out is kept unless
--overwrite is given.
"""

from __future__ import annotations

import argparse
import json
import sys

from subtitle_vlm.config import add_dataclass_arguments, build_config
from subtitle_vlm.merge.merge import MergeConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="subtitle-vlm merge", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML or JSON file of defaults; flags win")
    add_dataclass_arguments(parser, MergeConfig)
    ns = vars(parser.parse_args(argv))
    try:
        cfg = build_config(MergeConfig, ns, ns.pop("config", None))
    except ValueError as e:
        parser.error(str(e))
    from subtitle_vlm.merge.merge import merge_adapter

    try:
        report = merge_adapter(cfg)
    except RuntimeError as e:
        print(f"subtitle-vlm merge: {e}", file=sys.stderr)
        return 1
    print(json.dumps(report.as_dict(), ensure_ascii=False))
    print(f"merge: wrote {report.out} in {report.seconds:.1f} s; largest |logit difference| vs base + adapter: "
          f"{report.max_abs_diff:.3g} (tolerance {report.tolerance:.3g})" if report.max_abs_diff is not None else
          f"merge: wrote {report.out} in {report.seconds:.1f} s (not verified)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
