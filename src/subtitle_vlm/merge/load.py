"""Loading a transformers VLM the way merge and the hf engine both need it: base (+ LoRA adapter), processor,
dtype, device or device map.

    src = resolve_sources("runs/tiny")                      # base, adapter and run config of a run directory
    model = load_model(src, dtype="auto", device="cpu")     # PeftModel when there is an adapter
    processor = load_processor(src)

``model`` may be a merged or full model directory, an adapter (run) directory whose base is named in its
``run_config.json`` or ``adapter_config.json``, a hub id, or ``tiny:<family>``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from subtitle_vlm.io import InputError

PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json", "tokenizer_config.json")
DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass
class ModelSources:
    base: str                      # local folder or hub id of the full weights
    adapter: str | None = None     # LoRA adapter folder, when there is one
    run_config: dict = field(default_factory=dict)
    requested: str = ""            # what the user passed

    @property
    def processor_source(self) -> str:
        """The adapter/run folder when it carries the processor it was trained with, else the base."""
        if self.adapter and any((Path(self.adapter) / f).is_file() for f in PROCESSOR_FILES):
            return self.adapter
        return self.base


def resolve_sources(model: str | os.PathLike, adapter: str | os.PathLike | None = None) -> ModelSources:
    """Where the weights, adapter and run config of ``model`` (plus an explicit ``adapter``) are."""
    from subtitle_vlm.train.run_config import find_run_config, resolve_model_dir

    if not model:
        raise InputError("no model given: pass --model (a model or run directory, a hub id or tiny:<family>)")
    base, found_adapter, run_cfg = resolve_model_dir(model)
    if adapter:
        if found_adapter:
            raise InputError(f"{model} is already an adapter directory; pass its base as --model, or drop --adapter")
        adapter_dir = Path(adapter)
        if not (adapter_dir / "adapter_config.json").is_file():
            raise InputError(f"--adapter {adapter}: no adapter_config.json there; pass a LoRA adapter folder")
        found_adapter = str(adapter_dir)
        run_cfg = find_run_config(adapter_dir) or run_cfg
    if not Path(base).exists() and _looks_like_path(base):
        raise InputError(f"base model {base!r} (named by {model}) does not exist; pass --model with the base "
                         "model folder or hub id")
    return ModelSources(base=str(base), adapter=found_adapter, run_config=run_cfg, requested=str(model))


def refuses_remote_code(error: BaseException) -> bool:
    """Whether transformers refused to run a model's own code because trust_remote_code was off."""
    return "trust_remote_code" in str(error)


def remote_code_error(model: str) -> InputError:
    """The one message every loader gives when a model needs its own code and the user has not allowed it."""
    return InputError(f"{model}: this model ships its own Python code, which runs only when allowed; rerun "
                      "with --trust-remote-code if you trust it")


def _looks_like_path(name: str) -> bool:
    # hub ids are "owner/name"; anything absolute, relative (./ ../) or deeper is a local path
    return name.startswith(("/", "./", "../", "~")) or name.count("/") > 1


def parse_max_memory(spec: str | None) -> dict | None:
    """``"0=20GiB,1=20GiB,cpu=64GiB"`` -> ``{0: "20GiB", 1: "20GiB", "cpu": "64GiB"}`` (accelerate's format)."""
    if not spec:
        return None
    from accelerate.utils import convert_file_size_to_int

    out: dict = {}
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, size = part.partition("=")
        key, size = key.strip().lower(), size.strip()
        if not sep or not size:
            raise InputError(f"--max-memory {spec!r}: write each entry as DEVICE=SIZE, e.g. 0=20GiB,cpu=64GiB")
        if re.fullmatch(r"(cuda:)?\d+", key):
            dev: int | str = int(key.split(":")[-1])
        elif key in ("cpu", "disk", "mps"):
            dev = key
        else:
            raise InputError(f"--max-memory {spec!r}: unknown device {key!r}; use a GPU number, cpu or disk")
        try:
            convert_file_size_to_int(size)
        except ValueError:
            raise InputError(f"--max-memory {spec!r}: bad size {size!r}; use e.g. 20GiB, 500MB") from None
        out[dev] = size
    return out or None


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; anything else is checked and returned."""
    import torch

    device = (device or "auto").strip().lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {device}: no CUDA GPU is visible here; use --device cpu")
    if not re.fullmatch(r"cpu|cuda(:\d+)?|mps", device):
        raise InputError(f"--device {device!r}: use auto, cpu, cuda or cuda:N")
    return device


def pick_dtype(name: str, device: str, for_merge: bool = False):
    """The torch dtype to load with. ``auto``: bf16 on GPUs that have it, fp16 on older GPUs, fp32 on CPU;
    for merging, the checkpoint's own dtype (returned as the string "auto")."""
    import torch

    name = (name or "auto").lower()
    if name not in DTYPES:
        raise InputError(f"--dtype {name!r}: choose one of {', '.join(DTYPES)}")
    if name != "auto":
        return getattr(torch, name)
    if for_merge:
        return "auto"
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def load_processor(sources: ModelSources, trust_remote_code: bool = False, padding_side: str = "left"):
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(sources.processor_source, trust_remote_code=trust_remote_code)
    tok = getattr(processor, "tokenizer", processor)
    # Batched generation appends to the right end of each row: pad on the left so every prompt ends there.
    tok.padding_side = padding_side
    if tok.pad_token is None and tok.eos_token is not None:
        tok.pad_token = tok.eos_token
    return processor


def load_model(sources: ModelSources, *, dtype="auto", device: str = "cpu", device_map: str | None = None,
               max_memory: str | dict | None = None, trust_remote_code: bool = False,
               offload_folder: str | None = None, merge_adapter: bool = False):
    """The base model, with the adapter applied (a ``PeftModel``, or merged in memory when ``merge_adapter``).

    ``device_map`` ("auto", "balanced", "sequential") spreads layers over GPUs and, when ``max_memory``
    leaves room on ``cpu``/``disk``, offloads the rest there (accelerate moves them in on use).
    """
    from transformers import AutoModelForImageTextToText

    if device_map and sources.adapter:
        return _load_merged_then_dispatch(sources, dtype=dtype, device_map=device_map, max_memory=max_memory,
                                          trust_remote_code=trust_remote_code, offload_folder=offload_folder)
    kwargs: dict = {"dtype": dtype, "trust_remote_code": trust_remote_code}
    if device_map:
        mm = parse_max_memory(max_memory) if isinstance(max_memory, str) or max_memory is None else max_memory
        kwargs["device_map"] = device_map
        if mm:
            kwargs["max_memory"] = mm
        if offload_folder:
            kwargs["offload_folder"] = offload_folder
    try:
        model = AutoModelForImageTextToText.from_pretrained(sources.base, **kwargs)
    except OSError as e:
        raise InputError(f"cannot load model {sources.base!r}: {e}") from None
    except ValueError as e:
        if refuses_remote_code(e) and not trust_remote_code:
            raise remote_code_error(sources.base) from None
        raise
    if not device_map:
        model.to(device)
    if sources.adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, sources.adapter, is_trainable=False)
        if merge_adapter:
            model = model.merge_and_unload()
    model.eval()
    return model


def _load_merged_then_dispatch(sources: ModelSources, *, dtype, device_map: str, max_memory,
                               trust_remote_code: bool, offload_folder: str | None):
    """Base + adapter merged in CPU memory, then spread over the devices like ``from_pretrained`` would.

    peft cannot attach an adapter to layers that a device map has offloaded to disk, so with an adapter the
    merge comes first (the model must fit in CPU memory once, as a merge does anyway).
    """
    from accelerate import dispatch_model, infer_auto_device_map
    from accelerate.utils import get_balanced_memory

    model = load_model(ModelSources(base=sources.base, adapter=sources.adapter, run_config=sources.run_config),
                       dtype=dtype, device="cpu", trust_remote_code=trust_remote_code, merge_adapter=True)
    mm = parse_max_memory(max_memory) if isinstance(max_memory, str) or max_memory is None else max_memory
    no_split = list(getattr(model, "_no_split_modules", None) or [])
    if device_map == "balanced":
        mm = get_balanced_memory(model, max_memory=mm, no_split_module_classes=no_split)
    dmap = infer_auto_device_map(model, max_memory=mm, no_split_module_classes=no_split)
    if "disk" in dmap.values() and not offload_folder:
        raise InputError("the device map offloads layers to disk: pass an offload folder, or raise --max-memory")
    model = dispatch_model(model, device_map=dmap, offload_dir=offload_folder)
    model.hf_device_map = dmap
    model.eval()
    return model


def input_device(model):
    """Where the inputs of a (possibly dispatched) model must go: the device of its input embeddings."""
    import torch

    try:
        emb = model.get_input_embeddings()
        dev = emb.weight.device
        if dev.type != "meta":
            return dev
    except (AttributeError, NotImplementedError):
        pass
    hf_map = getattr(model, "hf_device_map", None)
    if hf_map:
        for d in hf_map.values():
            if isinstance(d, int):
                return torch.device("cuda", d)
            if d not in ("cpu", "disk"):
                return torch.device(d)
        return torch.device("cpu")
    return next(model.parameters()).device


__all__ = ["ModelSources", "resolve_sources", "refuses_remote_code", "remote_code_error", "parse_max_memory", "resolve_device", "pick_dtype",
           "load_processor", "load_model", "input_device"]
