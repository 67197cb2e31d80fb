"""python merge.py --adapter runs/minicpmv_lora [--base openbmb/MiniCPM-Llama3-V-2_5] [--out runs/minicpmv_merged]

(run with .venv-minicpmv/bin/python, from modification/minicpm/ or the clone's finetune/ folder)

Folds a MiniCPM-V LoRA run into plain weights: base model + the adapter of a ``checkpoint-N`` + that
checkpoint's ``vpm_resampler_embedtokens.pt`` (the resampler, embed_tokens and vision weights trained beside
the LoRA), then writes a folder that loads alone with ``AutoModel.from_pretrained(out, trust_remote_code=True)``:
the merged weights, the base's remote-code ``.py`` files, tokenizer and processor files, and the run config
(prompt) for ``subtitle-vlm predict --engine minicpmv``.

--adapter takes a checkpoint-N folder, or the run's output_dir (the latest checkpoint-N in it is used and
named). It refuses an output_dir's own final save when its extra weights file is empty (see
subtitle_vlm.engines.minicpmv_lora). The output folder appears only when complete.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from subtitle_vlm.engines.minicpmv_lora import (EXTRA_WEIGHTS, apply_adapter, choose_adapter, copy_side_files,
                                                load_extra_weights, local_model_dir)
from subtitle_vlm.engines.upstream_run import find_run_config
from subtitle_vlm.io import InputError
from subtitle_vlm.train.run_config import save_run_config

DEFAULT_BASE = "openbmb/MiniCPM-Llama3-V-2_5"


def merge_model(model, adapter: str | Path, extra: dict | None = None, log=print):
    """``model`` (the base, loaded) + the chosen checkpoint -> (merged model, AdapterChoice, report)."""
    choice = choose_adapter(adapter)
    log(f"merge: {choice.reason}")
    if extra is None:
        extra = load_extra_weights(choice.path)
    merged, report = apply_adapter(model, choice.path, extra)
    log(f"merge: {report['lora_modules']} LoRA modules merged, {report['extra_tensors']} tensors from "
        f"{choice.path / EXTRA_WEIGHTS} loaded")
    return merged, choice, report


def write_merged_dir(merged, out: str | Path, base_dir: str | Path, run_cfg: dict, tokenizer=None,
                     overwrite: bool = False) -> list[str]:
    """Save ``merged`` with the base's side files and run config into ``out``, atomically.

    Returns the names of the files copied from ``base_dir``.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise InputError(f"{out} exists; choose another --out or pass --overwrite")
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    merged.save_pretrained(str(tmp), safe_serialization=True)
    if tokenizer is not None:
        tokenizer.save_pretrained(str(tmp))
    copied = copy_side_files(base_dir, tmp)
    save_run_config(tmp, run_cfg)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return copied


def merged_run_config(choice_path: Path, base: str, out: Path) -> dict:
    cfg = find_run_config(choice_path)
    cfg.pop("format", None)
    cfg.update({"kind": "merged", "recipe": "minicpmv", "family": "minicpmv", "trust_remote_code": True,
                "base_model": str(out.resolve()), "merged_from": {"base": base, "adapter": str(choice_path.resolve())}})
    if not cfg.get("prompt"):
        from subtitle_vlm.data.prompts import DEFAULT_PROMPT

        cfg["prompt"] = DEFAULT_PROMPT
    return cfg


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--adapter", required=True, help="checkpoint-N folder, or the run's output_dir")
    ap.add_argument("--base", help=f"base model (default: the run config's base_model, else {DEFAULT_BASE})")
    ap.add_argument("--out", help="merged model folder (default: <output_dir>/merged-<checkpoint>)")
    ap.add_argument("--dtype", default="float16", choices=["float16", "bfloat16", "float32"],
                    help="dtype to load and save in (the base is float16)")
    ap.add_argument("--device", default="cpu", help="where to merge: cpu (needs ~2x17 GB of RAM) or cuda")
    ap.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    args = ap.parse_args(argv)
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer

        choice = choose_adapter(args.adapter)  # fail on a bad folder before loading 17 GB
        print(f"merge: {choice.reason}")
        extra = load_extra_weights(choice.path)
        run_cfg = find_run_config(choice.path)
        base = args.base or run_cfg.get("base_model") or DEFAULT_BASE
        run_dir = choice.path.parent if choice.path.name.startswith("checkpoint-") else choice.path
        out = Path(args.out or run_dir / f"merged-{choice.path.name}")
        if out.exists() and not args.overwrite:
            raise InputError(f"{out} exists; choose another --out or pass --overwrite")
        dtype = getattr(torch, args.dtype)
        print(f"merge: loading {base} ({args.dtype}, {args.device})")
        model = AutoModel.from_pretrained(base, trust_remote_code=True, torch_dtype=dtype).to(args.device)
        tokenizer = AutoTokenizer.from_pretrained(base, trust_remote_code=True)
        merged, choice, _ = merge_model(model, choice.path, extra)
        merged = merged.to("cpu")
        copied = write_merged_dir(merged, out, local_model_dir(base), merged_run_config(choice.path, base, out),
                                  tokenizer, overwrite=args.overwrite)
    except InputError as e:
        print(f"merge: error: {e}", file=sys.stderr)
        return 2
    print(f"merge: wrote {out} (from {choice.path.name}; copied from the base: {', '.join(copied) or 'nothing'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
