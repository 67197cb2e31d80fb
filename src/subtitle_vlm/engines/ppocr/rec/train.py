"""``run_train_rec(cfg)``: CTC fine-tuning of PP-OCR's recogniser with transformers' Trainer, then export.

Steps: convert the base ONNX model to torch (``convert``), cut line crops from the frame sets with labels in
its dictionary (``dataset``; characters it lacks are reported in ``labels_report.json``), choose what trains
(``model.RecModel.set_trainable``), train with ``transformers.Trainer`` (AdamW, warm-up + schedule,
checkpoints every ``save_steps`` and resume from the newest, a progress bar, the loss log in
``log_history.jsonl`` and ``trainer_state.json`` for ``subtitle-vlm report``; evaluation logs ``eval_loss``
and ``eval_cer``), then export ``rec.onnx`` (``export``) and write ``summary.json`` (steps, seconds per
step, peak memory, eval CER before and after).
"""

from __future__ import annotations

import logging
import resource
import time
from pathlib import Path

from subtitle_vlm.config import config_to_dict
from subtitle_vlm.engines.ppocr.rec.charset import Charset, LabelReport
from subtitle_vlm.engines.ppocr.rec.config import TrainRecConfig
from subtitle_vlm.engines.ppocr.rec.dataset import (CropRecipe, SampleDataset, build_crops, collate, feature_samples,
                                                    image_samples, padding_features)
from subtitle_vlm.io import InputError, atomic_write_json, check_writable_dir

log = logging.getLogger(__name__)

SUMMARY_NAME = "summary.json"
LABELS_REPORT_NAME = "labels_report.json"


def greedy_texts(model, charset: Charset, samples: list[dict], batch_size: int = 32, collate_fn=collate) -> list[str]:
    """Greedy CTC readings of samples (images or backbone features; eval mode, no gradients)."""
    import torch

    was = model.training
    model.eval()
    out = []
    dev = next(model.parameters()).device
    try:
        with torch.no_grad():
            for i in range(0, len(samples), batch_size):
                batch = collate_fn(samples[i:i + batch_size])
                batch = {k: v.to(dev) for k, v in batch.items() if k in ("pixel_values", "features")}
                ids = model(**batch)["logits"].argmax(-1).cpu().numpy()
                out += [charset.decode(row) for row in ids]
    finally:
        model.train(was)
    return out


def char_error_rate(golds: list[str], hyps: list[str]) -> float:
    from subtitle_vlm.text.metrics import levenshtein

    return sum(levenshtein(g, h) for g, h in zip(golds, hyps)) / max(1, sum(len(g) for g in golds))


def _make_trainer_class():
    from transformers import Trainer

    class RecTrainer(Trainer):
        """Trainer over the converted recogniser: CTC loss from the batch's labels; evaluation adds CER."""

        def __init__(self, *args, charset: Charset, eval_samples=None, eval_texts=None, **kwargs):
            super().__init__(*args, **kwargs)
            self.charset = charset
            self.eval_samples = eval_samples or []
            self.eval_texts = eval_texts or []

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            out = model(pixel_values=inputs.get("pixel_values"), features=inputs.get("features"),
                        labels=inputs["labels"], label_lengths=inputs["label_lengths"])
            return (out["loss"], out) if return_outputs else out["loss"]

        def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix="eval"):
            import torch

            if not self.eval_samples:
                return {}
            start = time.perf_counter()
            model = self.model
            model.eval()
            losses = []
            bs = self.args.per_device_eval_batch_size
            with torch.no_grad():
                for i in range(0, len(self.eval_samples), bs):
                    part = self.eval_samples[i:i + bs]
                    batch = {k: v.to(self.args.device) for k, v in self.data_collator(part).items()}
                    losses.append((float(self.compute_loss(model, batch)), len(part)))
            hyps = greedy_texts(model, self.charset, self.eval_samples, bs, self.data_collator)
            model.train()
            metrics = {
                f"{metric_key_prefix}_loss": sum(l * n for l, n in losses) / max(1, sum(n for _, n in losses)),
                f"{metric_key_prefix}_cer": char_error_rate(self.eval_texts, hyps),
                f"{metric_key_prefix}_exact": sum(g == h for g, h in zip(self.eval_texts, hyps)) / max(1, len(hyps)),
                f"{metric_key_prefix}_runtime": time.perf_counter() - start,
            }
            self.log(metrics)
            return metrics

    return RecTrainer


def _resume_point(spec: str, out: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    s = (spec or "auto").strip()
    if s.lower() in ("no", "none", "false", "off"):
        return None
    if s.lower() == "auto":
        return get_last_checkpoint(str(out)) if out.is_dir() else None
    if not Path(s).is_dir():
        raise InputError(f"--resume {s}: no such checkpoint folder; use auto, no or a checkpoint-N path")
    return s


def run_train_rec(cfg: TrainRecConfig) -> dict:
    import torch
    from transformers import TrainingArguments

    from subtitle_vlm.engines.ppocr.rec.convert import build_torch_model
    from subtitle_vlm.engines.ppocr.rec.crops import batch_images
    from subtitle_vlm.engines.ppocr.rec.export import export_model
    from subtitle_vlm.train.callbacks import JsonlLogCallback

    cfg.validate()
    out = check_writable_dir(cfg.out)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)

    model, base = build_torch_model(cfg.base_model or None)
    charset = Charset(base.characters)
    recipe = CropRecipe(typical=cfg.typical_crop, jitter=cfg.jitter_crops, spread=cfg.jitter_spread,
                        det_crops=cfg.det_crops, keep_missing=cfg.keep_missing, max_width=cfg.max_width)
    report = LabelReport()
    t0 = time.perf_counter()
    train_crops = build_crops(cfg.frames, charset, recipe, cfg.seed, report, cache_dir=out / "det_cache",
                              progress=cfg.progress)
    eval_crops = []
    if cfg.eval_frames:
        eval_recipe = CropRecipe(typical=True, jitter=0, keep_missing=False, max_width=cfg.max_width)
        eval_crops = build_crops(cfg.eval_frames, charset, eval_recipe, cfg.seed, LabelReport(),
                                 progress=cfg.progress)[: cfg.eval_max_lines]
    data_seconds = time.perf_counter() - t0
    atomic_write_json(out / LABELS_REPORT_NAME, report.as_dict())
    if report.lines_with_missing:
        log.warning("%d of %d training lines hold characters outside the recogniser's dictionary (%s); %s "
                    "(see %s)", report.lines_with_missing, report.lines_total,
                    "".join(c for c, _ in report.missing.most_common(20)),
                    "kept without them" if cfg.keep_missing else "left out", out / LABELS_REPORT_NAME)
    if not train_crops:
        raise InputError(f"no training crops from {', '.join(cfg.frames)}: the frame sets hold no subtitle lines "
                         "the dictionary can express")
    counts = model.set_trainable(cfg.trainable, cfg.freeze_bn)
    # A frozen backbone gives the same features every epoch: compute them once per crop.
    cached = cfg.cache_features and cfg.trainable in ("head", "neck")
    t2 = time.perf_counter()
    if cached:
        pad = padding_features(model)
        train_samples = feature_samples(model, train_crops, progress=cfg.progress)
        eval_samples = feature_samples(model, eval_crops, progress=cfg.progress)

        def collate_fn(batch):
            return collate(batch, pad)
    else:
        train_samples, eval_samples, collate_fn = image_samples(train_crops), image_samples(eval_crops), collate
    feature_seconds = time.perf_counter() - t2
    log.info("%d training crops, %d eval lines; training %s (%d of %d parameters), BatchNorm %s",
             len(train_crops), len(eval_crops), cfg.trainable, counts["trainable"], counts["total"],
             "frozen" if cfg.freeze_bn else "updating")

    run_config = {
        "kind": "ppocr-rec", "base_model": base.path, "base_sha256": base.sha256,
        "num_classes": base.num_classes, "seed": cfg.seed, "config": config_to_dict(cfg),
        "data": {"frames": list(cfg.frames), "eval_frames": list(cfg.eval_frames), "recipe": recipe.as_dict(),
                 "train_crops": len(train_crops), "eval_lines": len(eval_crops),
                 "lines_with_missing_characters": report.lines_with_missing},
        "parameters": counts,
    }
    atomic_write_json(out / "run_config.json", run_config)

    use_cpu = not torch.cuda.is_available()
    args = TrainingArguments(
        output_dir=str(out), max_steps=cfg.max_steps, per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size, learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay, warmup_steps=cfg.warmup_steps, lr_scheduler_type=cfg.lr_scheduler,
        logging_steps=cfg.logging_steps, eval_strategy="steps" if eval_crops else "no", eval_steps=cfg.eval_steps,
        save_strategy="steps", save_steps=cfg.save_steps, save_total_limit=2, seed=cfg.seed, data_seed=cfg.seed,
        dataloader_num_workers=0, remove_unused_columns=False, report_to=[], use_cpu=use_cpu,
        disable_tqdm=not cfg.progress, label_names=["labels"])
    trainer = _make_trainer_class()(model=model, args=args, train_dataset=SampleDataset(train_samples),
                                    eval_dataset=SampleDataset(eval_samples) if eval_crops else None,
                                    data_collator=collate_fn, charset=charset, eval_samples=eval_samples,
                                    eval_texts=[c.text for c in eval_crops],
                                    callbacks=[JsonlLogCallback(out)])
    before = trainer.evaluate() if eval_crops else {}
    resume = _resume_point(cfg.resume, out)
    if resume:
        log.info("resuming from %s", resume)
    t1 = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume)
    train_seconds = time.perf_counter() - t1
    evals = [r for r in trainer.state.log_history if "eval_cer" in r]
    if evals and evals[-1].get("step") == trainer.state.global_step:
        after = evals[-1]            # the Trainer has just evaluated the final weights
    else:
        after = trainer.evaluate() if eval_crops else {}
    trainer.save_state()

    samples = [batch_images([c.image for c in (eval_crops or train_crops)[:4]])]
    export = export_model(model.cpu(), base.path, out, base.characters, run_config, samples)
    steps_run = max(1, trainer.state.global_step - (int(Path(resume).name.split("-")[-1]) if resume else 0))
    peak = ({"peak_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1), "peak_memory_kind": "cuda"}
            if not use_cpu else
            {"peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
             "peak_memory_kind": "cpu_max_rss"})
    evals = [r for r in trainer.state.log_history if "eval_cer" in r]
    summary = {
        "steps": trainer.state.global_step, "steps_this_run": steps_run,
        "train_runtime": round(train_seconds, 1), "seconds_per_step": round(train_seconds / steps_run, 3),
        "data_seconds": round(data_seconds, 1), "feature_seconds": round(feature_seconds, 1),
        "cached_backbone_features": cached, "train_samples": len(train_crops), "eval_lines": len(eval_crops),
        "batch_size": cfg.batch_size, "trainable": cfg.trainable, "freeze_bn": cfg.freeze_bn, "seed": cfg.seed,
        "train_loss": result.training_loss, "eval_cer_before": before.get("eval_cer"),
        "final_eval_cer": after.get("eval_cer"),
        "best_eval_cer": min((r["eval_cer"] for r in evals), default=None), **peak, **export,
        "device": "cuda" if not use_cpu else "cpu", "base_sha256": base.sha256,
    }
    atomic_write_json(out / SUMMARY_NAME, summary)
    return summary
