"""Merge a LoRA adapter into its base model and prove the result reads like base + adapter.

    report = merge_adapter(MergeConfig(adapter="runs/tiny", out="runs/tiny-merged"))

The merged directory loads alone: full weights (safetensors), the processor and tokenizer the run was
trained with (chat template included), the generation config, and ``run_config.json`` (kind "merged",
with where it came from). Before it appears under its name, its logits on a sample frame are compared
with base + adapter, both in memory and after reloading the saved folder; the largest absolute difference
is reported and must stay under the tolerance. It is written to a temporary folder beside ``out`` and
renamed into place, so ``out`` is either the old directory or the complete new one.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from subtitle_vlm.io import InputError, atomic_write_json, check_writable_dir

log = logging.getLogger(__name__)

SAMPLE_ANSWER = "今天天氣很好，我們去吃牛肉麵"
# Files of a run directory worth keeping beside the merged weights (for reports and reruns).
PROVENANCE_FILES = ("train_config.json", "summary.json", "log_history.jsonl")


@dataclass
class MergeConfig:
    adapter: str = field(default="", metadata={
        "help": "adapter or run directory (or checkpoint-N inside one) written by 'subtitle-vlm train'"})
    out: str = field(default="", metadata={"help": "merged model directory to create"})
    model: str | None = field(default=None, metadata={
        "help": "base model (folder, hub id or tiny:<family>); default: the base named by the adapter's run config"})
    overwrite: bool = field(default=False, metadata={"help": "replace --out if it exists"})
    dtype: str = field(default="auto", metadata={
        "help": "dtype to merge and save in: auto (the base checkpoint's) | float32 | bfloat16 | float16"})
    device: str = field(default="cpu", metadata={"help": "where to merge: cpu | cuda | cuda:N"})
    tolerance: float | None = field(default=None, metadata={
        "help": "largest allowed absolute logit difference; default 1e-4 (fp32) or 5e-2 (fp16/bf16) times "
                "max(1, largest |logit|)"})
    verify: str = field(default="reload", metadata={
        "help": "reload: compare base+adapter with the saved folder reloaded (needs memory for two copies); "
                "memory: compare with the merged model in memory only; none: skip"})
    sample_image: str | None = field(default=None, metadata={
        "help": "frame to compare logits on (default: a generated 1280x720 test card)"})
    trust_remote_code: bool = field(default=False, metadata={"help": "allow model repositories' own code"})

    def validate(self) -> None:
        if not self.adapter:
            raise InputError("--adapter is required: the adapter or run directory to merge")
        if not self.out:
            raise InputError("--out is required: the merged model directory to create")
        if self.verify not in ("reload", "memory", "none"):
            raise InputError(f"--verify {self.verify!r}: choose reload, memory or none")


@dataclass
class MergeReport:
    out: str
    base: str
    adapter: str
    dtype: str
    max_abs_diff_memory: float | None = None
    max_abs_diff_reload: float | None = None
    max_abs_logit: float | None = None
    adapter_effect: float | None = None  # largest |logit change| the adapter makes over the bare base
    tolerance: float | None = None
    seconds: float = 0.0

    @property
    def max_abs_diff(self) -> float | None:
        vals = [v for v in (self.max_abs_diff_memory, self.max_abs_diff_reload) if v is not None]
        return max(vals) if vals else None

    def as_dict(self) -> dict:
        return {**asdict(self), "max_abs_diff": self.max_abs_diff}


def sample_frame(size=(1280, 720)):
    """A deterministic frame with texture and a white band where subtitles sit (no fonts needed)."""
    import numpy as np
    from PIL import Image

    w, h = size
    rng = np.random.default_rng(1234)
    x = np.linspace(0, 255, w, dtype=np.float32)
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    img = np.stack([np.broadcast_to(x, (h, w)), np.broadcast_to(y, (h, w)), (x + y) / 2 % 256], axis=-1)
    img = img + rng.normal(0, 20, img.shape)
    img[int(h * 0.82):int(h * 0.9), int(w * 0.3):int(w * 0.7)] = 250
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def sample_inputs(processor, prompt: str, image):
    """A training-shaped sample (prompt + answer) so the comparison covers the answer positions too."""
    from subtitle_vlm.train.families import user_messages

    messages = user_messages(prompt) + [{"role": "assistant", "content": [{"type": "text", "text": SAMPLE_ANSWER}]}]
    text = processor.apply_chat_template(messages, tokenize=False)
    return processor(text=[text], images=[[image]], return_tensors="pt")


def logits_of(model, inputs):
    import torch

    from subtitle_vlm.merge.load import input_device

    dev = input_device(model)
    dtype = model.dtype
    batch = {k: (v.to(dev, dtype=dtype) if v.is_floating_point() else v.to(dev)) for k, v in inputs.items()
             if hasattr(v, "to")}
    with torch.inference_mode():
        return model(**batch).logits.float().cpu()


def _check_out(cfg: MergeConfig, sources) -> Path:
    out = Path(cfg.out).resolve()
    for name, src in (("adapter", sources.adapter), ("base model", sources.base)):
        if src and Path(src).exists():
            s = Path(src).resolve()
            if out == s or s in out.parents or out in s.parents:
                raise InputError(f"--out {cfg.out} overlaps the {name} folder {src}; choose another --out")
    if out.exists() and not cfg.overwrite:
        raise InputError(f"--out {cfg.out} already exists; pass --overwrite to replace it or choose another --out")
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {cfg.out} is a file, not a folder; choose another --out")
    check_writable_dir(out.parent)
    return out


def _copy_extras(sources, tmp: Path) -> None:
    """Remote-code modules of a local base, and the run's provenance files."""
    base = Path(sources.base)
    if base.is_dir():
        for py in base.glob("*.py"):
            if not (tmp / py.name).exists():
                shutil.copy2(py, tmp / py.name)
    run_dir = Path(sources.adapter)
    for folder in (run_dir, run_dir.parent if run_dir.name.startswith("checkpoint-") else None):
        if folder is None:
            continue
        for name in PROVENANCE_FILES:
            if (folder / name).is_file() and not (tmp / name).exists():
                shutil.copy2(folder / name, tmp / name)


def _merged_run_config(sources, report: MergeReport) -> dict:
    rc = {k: v for k, v in sources.run_config.items() if k != "format"}
    rc.update(kind="merged", merged_from={"base_model": sources.base, "adapter": sources.adapter},
              merge={"dtype": report.dtype, "max_abs_diff": report.max_abs_diff, "tolerance": report.tolerance})
    rc.setdefault("base_model", sources.base)
    return rc


def _replace_dir(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; an existing ``out`` is moved aside first and removed only afterwards."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rmdir(old)
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def merge_adapter(cfg: MergeConfig) -> MergeReport:
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from subtitle_vlm.data.prompts import DEFAULT_PROMPT
    from subtitle_vlm.merge.load import load_model, load_processor, pick_dtype, resolve_device, resolve_sources

    t0 = time.perf_counter()
    cfg.validate()
    sources = resolve_sources(cfg.model, cfg.adapter) if cfg.model else resolve_sources(cfg.adapter)
    if not sources.adapter:
        raise InputError(f"{cfg.adapter}: no adapter_config.json there, so nothing to merge; pass the run "
                         "directory (or checkpoint-N) that 'subtitle-vlm train' wrote")
    out = _check_out(cfg, sources)
    device = resolve_device(cfg.device)
    dtype = pick_dtype(cfg.dtype, device, for_merge=True)
    trust = cfg.trust_remote_code
    log.info("merge: base %s + adapter %s -> %s", sources.base, sources.adapter, out)

    processor = load_processor(sources, trust_remote_code=trust, padding_side="right")
    model = load_model(sources, dtype=dtype, device=device, trust_remote_code=trust)
    dtype_name = str(model.dtype).replace("torch.", "")
    report = MergeReport(out=str(out), base=sources.base, adapter=str(sources.adapter), dtype=dtype_name)

    prompt = sources.run_config.get("prompt") or DEFAULT_PROMPT
    if cfg.sample_image:
        from PIL import Image

        try:
            with Image.open(cfg.sample_image) as im:
                image = im.convert("RGB")
        except OSError as e:
            raise InputError(f"--sample-image {cfg.sample_image}: cannot read it as an image ({e})") from None
    else:
        image = sample_frame()
    from subtitle_vlm.crop import crop_image, crop_or_none

    crop = crop_or_none(sources.run_config.get("crop"))
    # 'auto' is a box found per frame at inference; the whole sample frame stands in for it here.
    if crop is not None and crop.lower() != "auto":
        image = crop_image(image, crop)
    inputs = sample_inputs(processor, prompt, image)
    ref = logits_of(model, inputs)
    with model.disable_adapter():
        report.adapter_effect = float((logits_of(model, inputs) - ref).abs().max())
    scale = max(1.0, float(ref.abs().max()))
    report.max_abs_logit = float(ref.abs().max())
    report.tolerance = cfg.tolerance if cfg.tolerance is not None else (
        (1e-4 if model.dtype == torch.float32 else 5e-2) * scale)

    merged = model.merge_and_unload()
    del model
    if cfg.verify != "none":
        report.max_abs_diff_memory = float((logits_of(merged, inputs) - ref).abs().max())
        _check_tolerance(report, "in memory")

    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        merged.save_pretrained(tmp)
        processor.tokenizer.padding_side = "left"  # what inference wants when it loads this folder
        processor.save_pretrained(tmp)
        _copy_extras(sources, tmp)
        del merged
        if cfg.verify == "reload":
            re_model = AutoModelForImageTextToText.from_pretrained(tmp, dtype="auto", trust_remote_code=trust).to(device)
            re_proc = AutoProcessor.from_pretrained(tmp, trust_remote_code=trust)
            re_inputs = sample_inputs(re_proc, prompt, image)
            if not torch.equal(re_inputs["input_ids"], inputs["input_ids"]):
                raise RuntimeError("the saved processor tokenizes the sample differently from the run's; "
                                   "the merged folder was not written")
            report.max_abs_diff_reload = float((logits_of(re_model.eval(), re_inputs) - ref).abs().max())
            del re_model
            _check_tolerance(report, "after reloading the saved folder")
        from subtitle_vlm.train.run_config import save_run_config

        report.seconds = round(time.perf_counter() - t0, 3)
        save_run_config(tmp, _merged_run_config(sources, report))
        atomic_write_json(tmp / "merge_report.json", report.as_dict())
        _replace_dir(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return report


def _check_tolerance(report: MergeReport, where: str) -> None:
    diff = report.max_abs_diff
    if diff is None or diff != diff or diff > report.tolerance:  # NaN counts as a failure
        raise RuntimeError(f"merged model differs from base + adapter {where}: largest absolute logit difference "
                           f"{diff:.3g} > tolerance {report.tolerance:.3g}; nothing was written. Merge in "
                           "float32 (--dtype float32) or raise --tolerance if this precision is expected")


__all__ = ["MergeConfig", "MergeReport", "merge_adapter", "sample_frame"]
