"""The ``tinyllava`` engine: TinyLLaVA-Phi-2-SigLIP-3.1B plus a TinyLLaVA_Factory LoRA run, through ``chat()``.

    subtitle-vlm predict --engine tinyllava --model /models/TinyLLaVA-Phi-2-SigLIP-3.1B --adapter runs/tinyllava_lora \
        --input test/ --out pred.csv --trust-remote-code [--device cpu]

Runs in ``.venv-tinyllava``, with ``--trust-remote-code`` (the base's ``chat()`` is the model's own code).
``--model`` is the base (the hub model, whose remote code has ``chat()``);
``--adapter`` is the output folder of ``custom_finetune.sh`` with the LoRA recipe: peft adapter files plus the
full non-LoRA weights under ``language_model/``, ``vision_tower/`` and ``connector/``. Those are loaded into
the base, the adapter is merged, and each frame goes through ``chat(prompt, tokenizer, image)``, which
returns ``(text, seconds)``; the text is kept. Unlike upstream's ``eval_model`` this needs no "lora" in the
path, returns instead of printing, runs on CPU or GPU, and with local paths never contacts the hub
(HF_HUB_OFFLINE is set, so anything the model code fetches by name must already be in the cache).
Greedy decoding (temperature 0, 1 beam). dtype auto is float32: ``chat()`` feeds float32 pixels.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

from subtitle_vlm.engines.base import ChatModelEngine
from subtitle_vlm.io import InputError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "tinyllava/TinyLLaVA-Phi-2-SigLIP-3.1B"
# Sub-folders of a TinyLLaVA_Factory LoRA run holding full (non-LoRA) weights, and where each goes.
FACTORY_PARTS = {"language_model": "language_model", "vision_tower": "vision_tower._vision_tower",
                 "connector": "connector"}


def go_offline() -> None:
    """Make every hub lookup local-only from here on (also for libraries imported already)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    consts = sys.modules.get("huggingface_hub.constants")
    if consts is not None:
        consts.HF_HUB_OFFLINE = True


def _submodule(model, dotted: str):
    obj = model
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def load_factory_parts(model, run_dir: str | Path) -> list[str]:
    """Load ``language_model/``, ``vision_tower/``, ``connector/`` weights of a factory run into ``model``."""
    import torch

    loaded = []
    for sub, attr in FACTORY_PARTS.items():
        path = Path(run_dir) / sub / "pytorch_model.bin"
        if not path.is_file():
            continue
        state = torch.load(path, map_location="cpu", weights_only=True)
        # Saved from the peft-wrapped model: the LoRA-wrapped layers name their weight "...base_layer.weight".
        state = {k.replace(".base_layer", ""): v for k, v in state.items()}
        try:
            _submodule(model, attr).load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise InputError(f"{path}: does not fit the base model's {attr} ({str(e).splitlines()[0]}); "
                             f"is --model the base this run was trained from?") from None
        loaded.append(sub)
    return loaded


def load_tinyllava(model_path: str, adapter: str | None = None, device: str = "auto", dtype: str = "auto",
                   trust_remote_code: bool = False):
    """(model, tokenizer, report): the base with the run's weights and merged adapter, on ``device``.

    The base's ``chat()`` is the model's own code, so loading needs ``trust_remote_code``; without it
    nothing of the folder runs and InputError says which flag allows it.
    """
    if Path(model_path).is_dir() and (adapter is None or Path(adapter).is_dir()):
        go_offline()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from subtitle_vlm.merge.load import refuses_remote_code, remote_code_error

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    torch_dtype = torch.float32 if dtype == "auto" else getattr(torch, dtype)
    try:
        model = AutoModelForCausalLM.from_pretrained(model_path, trust_remote_code=trust_remote_code,
                                                     torch_dtype=torch_dtype)
    except ValueError as e:
        if refuses_remote_code(e) and not trust_remote_code:
            raise remote_code_error(model_path) from None
        raise
    cfg = model.config
    tokenizer = AutoTokenizer.from_pretrained(
        model_path, use_fast=False, model_max_length=getattr(cfg, "tokenizer_model_max_length", 3072),
        padding_side=getattr(cfg, "tokenizer_padding_side", "right"), trust_remote_code=trust_remote_code)
    report = {"model": model_path, "adapter": None, "parts": []}
    if adapter:
        adir = Path(adapter)
        if not (adir / "adapter_config.json").is_file():
            raise InputError(f"{adir}: no adapter_config.json; pass the output folder of custom_finetune.sh")
        report["parts"] = load_factory_parts(model, adir)
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adir), is_trainable=False).merge_and_unload()
        report["adapter"] = str(adir)
    model = model.to(device=device, dtype=torch_dtype)
    model.eval()
    return model, tokenizer, report


class TinyLLaVAEngine(ChatModelEngine):
    name = "tinyllava"
    decoding = "greedy (temperature 0, 1 beam)"

    def __init__(self, model, tokenizer, prompt: str, max_new_tokens: int = 64, info: dict | None = None):
        super().__init__(model, tokenizer, prompt, max_new_tokens, info)
        self._tmp = tempfile.TemporaryDirectory(prefix="tinyllava-")

    @classmethod
    def from_config(cls, cfg) -> "TinyLLaVAEngine":
        from subtitle_vlm.engines.base import seed_everything
        from subtitle_vlm.engines.settings import chat_model_path, require_remote_code, resolve_settings

        s = resolve_settings(cfg)
        model_path = chat_model_path(cfg, s, DEFAULT_MODEL)
        require_remote_code(s, cls.name, model_path)
        seed_everything(cfg.seed)
        model, tok, report = load_tinyllava(model_path, cfg.adapter, cfg.device, cfg.dtype,
                                            trust_remote_code=s.trust_remote_code)
        return cls(model, tok, s.prompt, s.max_new_tokens, report)

    def read(self, images: list) -> list[str]:
        return [self._chat(im) for im in images]

    def _chat(self, image) -> str:
        # chat() opens its image from a path; PNG keeps the (possibly cropped) pixels exactly.
        path = Path(self._tmp.name) / "frame.png"
        image.save(path, format="PNG")
        out = self.model.chat(prompt=self.prompt, tokenizer=self.tokenizer, image=str(path),
                              max_new_tokens=self.max_new_tokens, num_beams=1, top_p=None, temperature=0)
        text = out[0] if isinstance(out, (tuple, list)) else out
        return str(text).strip()

    def close(self) -> None:
        self._tmp.cleanup()


__all__ = ["TinyLLaVAEngine", "load_tinyllava", "load_factory_parts", "go_offline"]
