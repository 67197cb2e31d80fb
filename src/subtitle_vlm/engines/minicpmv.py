"""The ``minicpmv`` engine: MiniCPM-Llama3-V-2_5 (or a fine-tune of it) through the model's own ``chat()``.

    subtitle-vlm predict --engine minicpmv --model runs/minicpmv_lora/merged-checkpoint-500 --input test/ --out pred.csv --trust-remote-code
    subtitle-vlm predict --engine minicpmv --model openbmb/MiniCPM-Llama3-V-2_5 --adapter runs/minicpmv_lora/checkpoint-500 ...
    subtitle-vlm predict --engine minicpmv --model M --device-map auto --max-memory 0=10GiB,1=10GiB   # split over 2 GPUs

Runs in ``.venv-minicpmv`` (transformers 4.40: the model's remote code does not load on 5.x). The model is
its own Python code, so it loads only with ``--trust-remote-code``. Decoding is
deterministic: ``chat(..., sampling=False)`` is beam search (3 beams, repetition penalty 1.2). The prompt is,
first found: ``--prompt``, the run config of the adapter / model folder, the default prompt. ``--adapter``
takes a ``checkpoint-N`` (or a run's output_dir) and merges it on load (see ``minicpmv_lora``).
"""

from __future__ import annotations

import logging

from subtitle_vlm.engines.base import ChatModelEngine

log = logging.getLogger(__name__)

DEFAULT_MODEL = "openbmb/MiniCPM-Llama3-V-2_5"
# Kept whole on one GPU when the model is split; the model's own multi-GPU guide keeps the input and output
# ends (embeddings, first layer, lm_head, vision encoder, resampler) on the first GPU.
NO_SPLIT = ["LlamaDecoderLayer", "Idefics2EncoderLayer"]
FIRST_GPU_MODULES = ["llm.model.embed_tokens", "llm.model.layers.0", "llm.lm_head", "vpm", "resampler"]


def parse_max_memory(spec: str | None) -> dict | None:
    """'0=10GiB,1=10GiB,cpu=64GiB' -> {0: '10GiB', 1: '10GiB', 'cpu': '64GiB'}."""
    if not spec:
        return None
    out: dict = {}
    for part in spec.split(","):
        key, sep, val = part.strip().partition("=")
        if not sep or not val:
            raise ValueError(f"--max-memory: expected DEVICE=SIZE items like 0=10GiB,cpu=64GiB, got {part!r}")
        out[int(key) if key.isdigit() else key] = val
    return out


def split_device_map(model_path: str, max_memory: dict | None, dtype, trust_remote_code: bool = False) -> dict:
    """A device map that splits the model over the GPUs in ``max_memory`` (or all visible ones)."""
    import torch
    from accelerate import infer_auto_device_map, init_empty_weights
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(model_path, trust_remote_code=trust_remote_code)
    with init_empty_weights():
        empty = AutoModel.from_config(config, torch_dtype=dtype, trust_remote_code=trust_remote_code)
    if max_memory is None:
        n = torch.cuda.device_count()
        if n == 0:
            raise RuntimeError("--device-map auto needs GPUs; use --device cpu without it")
        max_memory = {i: f"{int(torch.cuda.get_device_properties(i).total_memory / 2**30 * 0.8)}GiB" for i in range(n)}
    device_map = infer_auto_device_map(empty, max_memory=max_memory, no_split_module_classes=NO_SPLIT)
    first = next((d for d in max_memory if d != "cpu" and d != "disk"), 0)
    for name in FIRST_GPU_MODULES:
        device_map[name] = first
    return dict(device_map)


def _dtype(name: str, device: str):
    import torch

    if name == "auto":
        # The weights are float16; float16 matmuls on a CPU are slow or missing, so CPUs get float32.
        return torch.float16 if device.startswith("cuda") else torch.float32
    return getattr(torch, name)


def _device(name: str) -> str:
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_minicpmv(model_path: str, adapter: str | None = None, device: str = "auto", dtype: str = "auto",
                  device_map: str | None = None, max_memory: str | None = None, trust_remote_code: bool = False):
    """(model, tokenizer, adapter_used) ready for ``chat``; the adapter (if any) merged in.

    The model's code (``modeling_minicpmv.py`` ...) ships with the model, so loading needs
    ``trust_remote_code``; without it nothing of the folder runs and InputError says which flag allows it.
    """
    from subtitle_vlm.merge.load import refuses_remote_code, remote_code_error

    try:
        return _load_minicpmv(model_path, adapter, device, dtype, device_map, max_memory, trust_remote_code)
    except ValueError as e:
        if refuses_remote_code(e) and not trust_remote_code:
            raise remote_code_error(model_path) from None
        raise


def _load_minicpmv(model_path, adapter, device, dtype, device_map, max_memory, trust: bool):
    from transformers import AutoModel, AutoTokenizer

    device = _device(device)
    torch_dtype = _dtype(dtype, "cuda" if device_map else device)
    tokenizer = AutoTokenizer.from_pretrained(model_path, trust_remote_code=trust)
    dmap = split_device_map(model_path, parse_max_memory(max_memory), torch_dtype, trust) if device_map else None
    used = None
    if adapter:
        from subtitle_vlm.engines.minicpmv_lora import apply_adapter, choose_adapter

        choice = choose_adapter(adapter)
        log.info("minicpmv: %s", choice.reason)
        model = AutoModel.from_pretrained(model_path, trust_remote_code=trust, torch_dtype=torch_dtype)
        model, _ = apply_adapter(model, choice.path)
        used = str(choice.path)
        if dmap:
            from accelerate import dispatch_model

            model = dispatch_model(model, device_map=dmap)
        else:
            model = model.to(device)
    elif dmap:
        model = AutoModel.from_pretrained(model_path, trust_remote_code=trust, torch_dtype=torch_dtype, device_map=dmap)
    else:
        model = AutoModel.from_pretrained(model_path, trust_remote_code=trust, torch_dtype=torch_dtype).to(device)
    model.eval()
    return model, tokenizer, used


class MiniCPMVEngine(ChatModelEngine):
    name = "minicpmv"
    decoding = "chat(sampling=False): beam search 3, repetition_penalty 1.2"

    @classmethod
    def from_config(cls, cfg) -> "MiniCPMVEngine":
        from subtitle_vlm.engines.base import seed_everything
        from subtitle_vlm.engines.settings import chat_model_path, require_remote_code, resolve_settings

        s = resolve_settings(cfg)
        model_path = chat_model_path(cfg, s, DEFAULT_MODEL)
        require_remote_code(s, cls.name, model_path)
        seed_everything(cfg.seed)
        model, tok, used = load_minicpmv(model_path, cfg.adapter, cfg.device, cfg.dtype, cfg.device_map, cfg.max_memory,
                                         trust_remote_code=s.trust_remote_code)
        return cls(model, tok, s.prompt, s.max_new_tokens,
                   {"model": model_path, "adapter": used, "device_map": cfg.device_map, "max_memory": cfg.max_memory})

    def read(self, images: list) -> list[str]:
        return [self._chat(im) for im in images]

    def _chat(self, image) -> str:
        out = self.model.chat(image=image, msgs=[{"role": "user", "content": self.prompt}], tokenizer=self.tokenizer,
                              sampling=False, max_new_tokens=self.max_new_tokens)
        # Later revisions of the model code return (text, context, ...) in some modes.
        if isinstance(out, (tuple, list)):
            out = out[0]
        return str(out).strip()


__all__ = ["MiniCPMVEngine", "load_minicpmv", "split_device_map", "parse_max_memory"]
