"""MiniCPM-V fine-tuning files (OpenBMB/MiniCPM-V ``finetune/``): a JSON list per split.

Each record: ``{"id", "image": ABSOLUTE path, "conversations": [{"role": "user", "content": "<image>\\n" +
prompt}, {"role": "assistant", "content": text}]}``. The trainer opens ``image`` relative to its working
directory (``finetune/``), so only absolute paths are safe.
"""

from __future__ import annotations

from pathlib import Path

from subtitle_vlm.data.prompts import user_text_with_image
from subtitle_vlm.data.sources import Sample
from subtitle_vlm.io import atomic_write_json

NAME = "minicpmv"


def record(sample: Sample, prompt: str) -> dict:
    return {
        "id": sample.id,
        "image": str(sample.image),
        "conversations": [
            {"role": "user", "content": user_text_with_image(prompt)},
            {"role": "assistant", "content": sample.text},
        ],
    }


def write(out: Path, splits: dict[str, list[Sample]], prompt: str, **_) -> list[Path]:
    paths = []
    for split, samples in splits.items():
        path = out / NAME / f"{split}.json"
        atomic_write_json(path, [record(s, prompt) for s in samples], indent=1)
        paths.append(path)
    return paths
