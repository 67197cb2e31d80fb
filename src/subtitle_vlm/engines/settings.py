"""What a model engine asks, how much it may answer and which pixels it sees: one resolution for every engine.

    s = resolve_settings(cfg)      # cfg: the predict options (or anything with the same fields)
    s.prompt, s.max_new_tokens, s.trust_remote_code, s.run_config
    crop = resolve_crop(cfg)       # the crop the caller (predict loop, video reader) applies before read()
    crop = crop_for(engine, crop)  # ... unless the engine finds the subtitle in whole frames itself

Precedence, for every engine (``hf``, ``minicpmv``, ``tinyllava``):

    the user's options (flags or ``--config`` file)  >  the run config of --adapter / --model  >  defaults

A run config is the ``run_config.json`` of the adapter (first) or the model folder; a ``checkpoint-N``
falls back to its run directory's. Defaults: the package's prompt (``data.prompts``), the whole frame,
64 new tokens. ``max_new_tokens`` counts as given only when the user set it (``config.is_given``), so a
run config's budget is not hidden by the option's default.

``trust_remote_code`` is the user's flag alone: a run config may record that a model needs its own code,
but never allows it.

The crop follows the same precedence but is not an engine setting: engines read the images they are
handed, and the caller resolves the crop once per run (``resolve_crop``) and crops every frame to it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from subtitle_vlm.config import is_given
from subtitle_vlm.crop import crop_or_none
from subtitle_vlm.io import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineSettings:
    prompt: str
    max_new_tokens: int
    trust_remote_code: bool = False
    run_config: dict = field(default_factory=dict)


def resolve_settings(cfg) -> EngineSettings:
    from subtitle_vlm.data.prompts import DEFAULT_PROMPT
    from subtitle_vlm.train.run_config import DEFAULT_MAX_NEW_TOKENS, find_run_config

    run_cfg = find_run_config(getattr(cfg, "adapter", None), getattr(cfg, "model", None))

    prompt = getattr(cfg, "prompt", None)
    if prompt is not None:
        if not prompt.strip():
            raise InputError("--prompt is empty: give the instruction to ask, or leave --prompt out to use the "
                             "run config's (else the default)")
    else:
        prompt = run_cfg.get("prompt") or DEFAULT_PROMPT

    if is_given(cfg, "max_new_tokens"):
        max_new, source = cfg.max_new_tokens, "--max-new-tokens"
    elif run_cfg.get("max_new_tokens") is not None:
        max_new, source = run_cfg["max_new_tokens"], "the run config's max_new_tokens"
    else:
        max_new, source = DEFAULT_MAX_NEW_TOKENS, "the default"
    if isinstance(max_new, bool) or not isinstance(max_new, int) or max_new < 1:
        raise InputError(f"{source} is {max_new!r}: need a whole number of tokens >= 1; pass --max-new-tokens N")

    return EngineSettings(prompt=prompt, max_new_tokens=max_new,
                          trust_remote_code=bool(getattr(cfg, "trust_remote_code", False)), run_config=run_cfg)


def resolve_crop(cfg) -> str | None:
    """The crop of a run: ``--crop`` when given, else the run config's (the pixels the model was trained on),
    else None (the whole frame)."""
    from subtitle_vlm.train.run_config import find_run_config

    flag = getattr(cfg, "crop", None)
    if flag is not None:
        return crop_or_none(flag)
    return crop_or_none(find_run_config(getattr(cfg, "adapter", None), getattr(cfg, "model", None)).get("crop"))


def crop_for(engine, crop: str | None) -> str | None:
    """``crop`` (from ``resolve_crop``) as applied before ``engine.read``: an engine that finds the subtitle
    in the whole frame itself (``Engine.reads_whole_frame``) gets whole frames, and a crop given for it is
    ignored with a warning."""
    if crop is not None and getattr(engine, "reads_whole_frame", False):
        log.warning("the %s engine reads whole frames and finds the subtitle itself; ignoring the crop %s "
                    "(from --crop, --read-crop or the run config)", getattr(engine, "name", "?"), crop)
        return None
    return crop


def chat_model_path(cfg, settings: EngineSettings, default_model: str) -> str:
    """The model an upstream chat engine loads: --model, else (with --adapter) the base its run config
    names, else the recipe's hub model."""
    if cfg.model:
        return cfg.model
    if cfg.adapter and settings.run_config.get("base_model"):
        return settings.run_config["base_model"]
    return default_model


def require_remote_code(settings: EngineSettings, engine: str, model: str) -> None:
    """Refuse, before anything of ``model`` is read, an engine whose model is always its own Python code
    (MiniCPM-V's and TinyLLaVA's ``chat()`` ship with the model, not with transformers)."""
    if not settings.trust_remote_code:
        raise InputError(f"--engine {engine} runs the Python code that ships with the model ({model}), and "
                         "running a model's own code is off; rerun with --trust-remote-code if you trust it")


__all__ = ["EngineSettings", "resolve_settings", "resolve_crop", "crop_for", "chat_model_path", "require_remote_code"]
