"""The proof that training works end to end: a tiny model trained on 16 frames reads them back.

Random weights cannot read, so reading the 16 training frames back (CER <= 0.05) after a fixed budget of
steps shows that masking, collation, LoRA, saving, merging and generation all line up. Settings are chosen
to make it quick and reliable on a CPU: a high learning rate, rank-32 LoRA plus the projector, and the
subtitle band cropped so the image tokens carry the text.
"""

from __future__ import annotations

import json

import pytest

from subtitle_vlm.train.train_cli import main

pytestmark = pytest.mark.slow

STEPS = 150
MAX_CER = 0.05


def test_tiny_model_reads_its_training_frames_back(tmp_path, tiny_model, frame_set16):
    import torch
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from subtitle_vlm.crop import crop_image
    from subtitle_vlm.io import read_frame_set
    from subtitle_vlm.merge.merge import MergeConfig, merge_adapter
    from subtitle_vlm.text.metrics import score_predictions
    from subtitle_vlm.train.collator import generation_inputs
    from subtitle_vlm.train.run_config import load_run_config

    tiny_model("qwen2_vl")
    run = tmp_path / "run"
    assert main(["--model_name_or_path", "tiny:qwen2_vl", "--train_data", str(frame_set16),
                 "--output_dir", str(run), "--max_steps", str(STEPS), "--save_strategy", "no",
                 "--per_device_train_batch_size", "4", "--learning_rate", "5e-3", "--warmup_steps", "10",
                 "--lora_r", "32", "--lora_alpha", "64", "--lora_dropout", "0", "--train_projector",
                 "--crop", "bottom=0.3", "--prompt", "字幕", "--logging_steps", "10", "--seed", "0"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["last_logged_loss"] < summary["first_logged_loss"]

    merged = tmp_path / "merged"
    merge_adapter(MergeConfig(adapter=str(run), out=str(merged)))
    cfg = load_run_config(merged)
    model = AutoModelForImageTextToText.from_pretrained(merged).eval()
    processor = AutoProcessor.from_pretrained(merged)
    assert not any("lora_" in n for n, _ in model.named_parameters())

    frames = read_frame_set(frame_set16)
    gold, pred = {}, {}
    for start in range(0, len(frames), 8):
        batch = frames[start:start + 8]
        images = [crop_image(Image.open(f.path).convert("RGB"), cfg["crop"]) for f in batch]
        inputs = generation_inputs(processor, [cfg["prompt"]] * len(batch), images)
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=cfg["max_new_tokens"], do_sample=False)
        texts = processor.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
        for f, t in zip(batch, texts):
            gold[f.id], pred[f.id] = f.text, t.strip()
    report = score_predictions(gold, pred)
    assert report.cer <= MAX_CER, report.to_markdown(worst=5)
