"""python -m subtitle_vlm.engines.upstream_run RECIPE OUT_DIR BASE_MODEL TRAIN_JSON [key=value ...]

Writes ``run_config.json`` (see ``subtitle_vlm.train.run_config``) into an upstream recipe's output folder
before training starts, so the folder says how to use it: the base model, and the prompt the training data
asked with (inference must ask the same). ``modification/minicpm/finetune_lora.sh`` and
``modification/tinyllava/custom_finetune.sh`` call it; the ``minicpmv`` / ``tinyllava`` engines and
``merge.py`` read it. Light: no torch, runs in the upstream environments.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from subtitle_vlm.data.prompts import IMAGE_TOKEN
from subtitle_vlm.io import InputError
# find_run_config is read from here by modification/minicpm/merge.py; it lives with the run config format.
from subtitle_vlm.train.run_config import find_run_config, load_run_config, save_run_config

RECIPES = {"minicpmv": "OpenBMB/MiniCPM-V@9bd93a2", "tinyllava": "TinyLLaVA/TinyLLaVA_Factory@6c581c3"}
# Keys given as key=value that are training settings, not run-config keys of their own.
_TRAINING_KEYS = ("max_steps", "num_train_epochs", "learning_rate", "per_device_train_batch_size",
                  "gradient_accumulation_steps", "world_size", "dtype", "deepspeed")


def prompt_from_training_json(path: str | Path) -> str:
    """The instruction of the first sample of a MiniCPM-V or TinyLLaVA training file, image tag removed."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: cannot read the training JSON ({e})") from None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise InputError(f"{path}: expected a non-empty JSON list of samples")
    turns = data[0].get("conversations") or []
    if not turns or not isinstance(turns[0], dict):
        raise InputError(f"{path}: record 0 has no conversations")
    first = turns[0]
    text = first.get("content", first.get("value"))
    if not isinstance(text, str):
        raise InputError(f"{path}: record 0's first message has no text ('content' or 'value')")
    return text.replace(IMAGE_TOKEN, "").strip()


def _value(v: str):
    """key=value strings to JSON types where they look like them (numbers, booleans)."""
    low = v.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(v)
    except ValueError:
        pass
    try:
        return float(v)
    except ValueError:
        return v


def write_run_config(recipe: str, out_dir: str | Path, base_model: str, train_json: str | Path,
                     settings: dict | None = None) -> Path:
    if recipe not in RECIPES:
        raise InputError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
    settings = dict(settings or {})
    from subtitle_vlm import __version__

    lora = {k[len("lora_"):]: settings.pop(k) for k in list(settings) if k.startswith("lora_")}
    training = {k: settings.pop(k) for k in list(settings) if k in _TRAINING_KEYS}
    data = {"train": [str(Path(train_json).resolve())]}
    if "eval_data" in settings:
        data["eval"] = [str(Path(settings.pop("eval_data")).resolve())]
    if "image_folder" in settings:
        data["image_folder"] = str(Path(settings.pop("image_folder")).resolve())
    cfg = {
        "kind": "adapter",
        "recipe": recipe,
        "upstream": RECIPES[recipe],
        "base_model": base_model,
        "base_model_name": base_model,
        "family": recipe,
        # A record that these models load only with their own code; the engines still run it only when
        # the user passes --trust-remote-code.
        "trust_remote_code": True,
        "prompt": prompt_from_training_json(train_json),
        "crop": "none",
        "lora": lora,
        "data": data,
        "training": training,
        **settings,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "subtitle_vlm_version": __version__,
    }
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return save_run_config(out_dir, cfg)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 4 or args[0] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    recipe, out_dir, base, train_json, *pairs = args
    settings = {}
    for p in pairs:
        key, sep, val = p.partition("=")
        if not sep:
            print(f"upstream_run: expected key=value, got {p!r}", file=sys.stderr)
            return 2
        settings[key] = _value(val)
    try:
        path = write_run_config(recipe, out_dir, base, train_json, settings)
    except InputError as e:
        print(f"upstream_run: error: {e}", file=sys.stderr)
        return 2
    print(f"upstream_run: wrote {path}")
    return 0


__all__ = ["prompt_from_training_json", "write_run_config", "find_run_config", "load_run_config"]

if __name__ == "__main__":
    raise SystemExit(main())
