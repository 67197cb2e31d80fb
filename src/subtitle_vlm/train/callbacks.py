"""Trainer callbacks: the JSONL loss log, run configs inside checkpoints, and the generation evaluation."""

from __future__ import annotations

import logging
import math
from pathlib import Path

from transformers import TrainerCallback

from subtitle_vlm.io import append_jsonl, read_jsonl, repair_jsonl_tail, write_jsonl
from subtitle_vlm.train.run_config import LOG_HISTORY_NAME, save_run_config

log = logging.getLogger(__name__)


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


class JsonlLogCallback(TrainerCallback):
    """Append every log event to ``log_history.jsonl``; on resume, drop rows past the checkpoint's step."""

    def __init__(self, output_dir: str | Path):
        self.path = Path(output_dir) / LOG_HISTORY_NAME

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero or not self.path.exists():
            return
        repair_jsonl_tail(self.path)
        rows = read_jsonl(self.path, tolerate_partial_last_line=True)
        kept = [r for r in rows if r.get("step", 0) <= state.global_step]
        if len(kept) != len(rows):
            # Steps after the checkpoint are about to be run again; their old rows would be duplicates.
            write_jsonl(self.path, kept)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            row = {"step": state.global_step, "epoch": _clean(state.epoch)}
            row.update({k: _clean(v) for k, v in logs.items()})
            append_jsonl(self.path, [row])


class RunConfigCallback(TrainerCallback):
    """Write the run config into every ``checkpoint-N`` so a checkpoint can be merged or used alone."""

    def __init__(self, run_config: dict):
        self.run_config = run_config

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if ckpt.is_dir():
                save_run_config(ckpt, {**self.run_config, "step": state.global_step})


class GenerationEvaluator:
    """Greedy-generate on the first N validation samples and score them (CER, mean Levenshtein).

    Every process generates the same samples (ZeRO-3 needs every rank in each forward); the trainer logs
    the result once.
    """

    def __init__(self, processor, dataset, *, max_samples: int, max_new_tokens: int, batch_size: int,
                 normalize_profile: str = "none", synced_gpus: bool = False):
        self.processor = processor
        self.dataset = dataset
        self.n = min(max_samples, len(dataset)) if dataset is not None else 0
        self.max_new_tokens = max_new_tokens
        self.batch_size = max(1, batch_size)
        self.profile = normalize_profile
        self.synced_gpus = synced_gpus

    def generate(self, model, samples: list[dict]) -> list[str]:
        import torch

        from subtitle_vlm.train.collator import generation_inputs

        inputs = generation_inputs(self.processor, [s["prompt"] for s in samples], [s["image"] for s in samples])
        device = next(model.parameters()).device
        dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
        inputs = {k: (v.to(device, dtype) if v.is_floating_point() else v.to(device)) if hasattr(v, "to") else v
                  for k, v in inputs.items()}
        tok = self.processor.tokenizer
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False,
                                 pad_token_id=tok.pad_token_id, synced_gpus=self.synced_gpus)
        new = out[:, inputs["input_ids"].shape[1]:]
        return [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]

    def evaluate(self, model) -> dict:
        from subtitle_vlm.text.metrics import score_predictions

        if not self.n:
            return {}
        was_training = model.training
        model.eval()
        gold, pred = {}, {}
        try:
            for start in range(0, self.n, self.batch_size):
                idx = range(start, min(start + self.batch_size, self.n))
                batch = [self.dataset[i] for i in idx]
                for i, s, text in zip(idx, batch, self.generate(model, batch)):
                    gold[str(i)], pred[str(i)] = s["answer"], text
        finally:
            model.train(was_training)
        report = score_predictions(gold, pred, self.profile)
        return {"cer": report.cer, "mean_levenshtein": report.mean_levenshtein,
                "exact_match": report.exact_match, "generated_samples": report.n}
