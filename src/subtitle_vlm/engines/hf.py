"""The ``hf`` engine: any transformers image-text-to-text model (merged, base, or base + LoRA adapter).

    subtitle-vlm predict --engine hf --model runs/tiny/merged --input frames/ --out pred.csv --batch-size 8

Prompt and generation budget come from the run's ``run_config.json``; ``--prompt`` and ``--max-new-tokens``
win (see ``engines.settings``). The predict loop crops the frames the same way (``--crop`` > run config).
Generation is greedy and batched; prompts are padded on the left so each row's answer starts at the same
column and can be cut off cleanly. Devices: ``--device cpu|cuda|cuda:N``; ``--device-map auto`` with
``--max-memory 0=20GiB,1=20GiB,cpu=64GiB`` splits a model over GPUs and offloads the rest to CPU memory.
"""

from __future__ import annotations

import logging
import tempfile
from typing import Any, ClassVar

from subtitle_vlm.engines.base import Engine

log = logging.getLogger(__name__)


def clean_answer(text: str) -> str:
    """One line, no surrounding whitespace (a subtitle's two lines become one, space-separated)."""
    return " ".join(part.strip() for part in text.strip().splitlines() if part.strip())


class HFEngine(Engine):
    name: ClassVar[str] = "hf"

    def __init__(self, model, processor, *, prompt: str, max_new_tokens: int = 64,
                 batch_size: int = 8, info: dict | None = None, offload_dir: Any = None):
        self.model = model
        self.processor = processor
        self.prompt = prompt
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.info = info or {}
        self._offload_dir = offload_dir
        from subtitle_vlm.train.families import prompt_text

        # The same chat text the trainer builds, so a model is asked exactly the way it was taught.
        self._chat_text = prompt_text(processor, prompt)
        self._gen_kwargs = self._generation_kwargs()

    # ------------------------------------------------------------ construction
    @classmethod
    def from_config(cls, cfg) -> "HFEngine":
        import torch

        from subtitle_vlm.engines.settings import resolve_settings
        from subtitle_vlm.merge.load import (input_device, load_model, load_processor, pick_dtype, resolve_device,
                                             resolve_sources)

        torch.manual_seed(getattr(cfg, "seed", 0))
        src = resolve_sources(cfg.model, getattr(cfg, "adapter", None))
        settings = resolve_settings(cfg)
        prompt, max_new = settings.prompt, settings.max_new_tokens
        trust = settings.trust_remote_code
        if settings.run_config.get("trust_remote_code") and not trust:
            log.warning("the run config says this model was trained with trust_remote_code; pass "
                        "--trust-remote-code if loading fails")
        device = "cpu" if cfg.device_map else resolve_device(cfg.device)
        dtype_device = ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device_map else device
        dtype = pick_dtype(cfg.dtype, dtype_device)
        offload = None
        if cfg.device_map:
            # Layers that fit nowhere else go to disk; accelerate needs a folder for them.
            offload = tempfile.TemporaryDirectory(prefix="subtitle-vlm-offload-")
        model = load_model(src, dtype=dtype, device=device, device_map=cfg.device_map, max_memory=cfg.max_memory,
                           trust_remote_code=trust, offload_folder=offload.name if offload else None,
                           merge_adapter=True)
        processor = load_processor(src, trust_remote_code=trust)
        info = {"engine": cls.name, "model": src.requested, "base": src.base, "adapter": src.adapter,
                "dtype": str(dtype).replace("torch.", ""), "device": str(input_device(model)),
                "device_map": getattr(model, "hf_device_map", None) and cfg.device_map,
                "prompt": prompt, "max_new_tokens": max_new}
        log.info("hf engine: %s", {k: v for k, v in info.items() if k != "prompt"})
        return cls(model, processor, prompt=prompt, max_new_tokens=max_new, batch_size=cfg.batch_size,
                   info=info, offload_dir=offload)

    def _generation_kwargs(self) -> dict:
        from transformers import GenerationConfig

        tok = self.tokenizer
        base = getattr(self.model, "generation_config", None)
        gc = GenerationConfig.from_dict(base.to_dict()) if base is not None else GenerationConfig()
        # Greedy and deterministic whatever the checkpoint's sampling defaults are.
        gc.update(do_sample=False, num_beams=1, temperature=None, top_p=None, top_k=None,
                  max_new_tokens=self.max_new_tokens, max_length=None)
        eos = gc.eos_token_id
        eos = [] if eos is None else ([eos] if isinstance(eos, int) else list(eos))
        if tok.eos_token_id is not None and tok.eos_token_id not in eos:
            eos.append(tok.eos_token_id)
        gc.eos_token_id = eos or None
        if gc.pad_token_id is None:
            gc.pad_token_id = tok.pad_token_id if tok.pad_token_id is not None else (eos[0] if eos else None)
        return {"generation_config": gc}

    @property
    def tokenizer(self):
        return getattr(self.processor, "tokenizer", self.processor)

    # ------------------------------------------------------------ reading
    def encode(self, images: list):
        """Processor inputs for a batch of frames, left-padded, on the model's input device."""
        from subtitle_vlm.merge.load import input_device

        batch = self.processor(text=[self._chat_text] * len(images), images=[[im] for im in images],
                               padding=True, return_tensors="pt")
        dev = input_device(self.model)
        dtype = self.model.dtype
        return {k: (v.to(dev, dtype=dtype) if v.is_floating_point() else v.to(dev)) if hasattr(v, "to") else v
                for k, v in batch.items()}

    def read(self, images: list) -> list[str]:
        import torch

        if not images:
            return []
        inputs = self.encode(images)
        with torch.inference_mode():
            out = self.model.generate(**inputs, **self._gen_kwargs)
        new = out[:, inputs["input_ids"].shape[1]:]
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        return [clean_answer(t) for t in texts]

    def describe(self) -> dict:
        return dict(self.info)

    def close(self) -> None:
        self.model = None
        if self._offload_dir is not None:
            self._offload_dir.cleanup()
            self._offload_dir = None


__all__ = ["HFEngine", "clean_answer"]
