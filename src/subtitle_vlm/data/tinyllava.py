"""TinyLLaVA_Factory fine-tuning files: a JSON list per split, image paths relative to ``--image_folder``.

Each record: ``{"id", "image": path relative to the image folder, "conversations": [{"from": "human",
"value": "<image>\\n" + prompt}, {"from": "gpt", "value": text}]}``. ``info.json`` beside them records the
image folder (and the files) so a launcher can pass ``--image_folder`` and ``--data_path``.
"""

from __future__ import annotations

import os
from pathlib import Path

from subtitle_vlm.data.prompts import user_text_with_image
from subtitle_vlm.data.sources import Sample
from subtitle_vlm.io import atomic_write_json

NAME = "tinyllava"
INFO_NAME = "info.json"


def record(sample: Sample, prompt: str) -> dict:
    return {
        "id": sample.id,
        "image": sample.rel,
        "conversations": [
            {"from": "human", "value": user_text_with_image(prompt)},
            {"from": "gpt", "value": sample.text},
        ],
    }


def write(out: Path, splits: dict[str, list[Sample]], prompt: str, *, image_folder: Path, **_) -> list[Path]:
    paths = []
    for split, samples in splits.items():
        path = out / NAME / f"{split}.json"
        atomic_write_json(path, [record(s, prompt) for s in samples], indent=1)
        paths.append(path)
    info = {
        "image_folder": os.path.abspath(image_folder),
        "data_path": {split: str((out / NAME / f"{split}.json").absolute()) for split in splits},
        "prompt": prompt,
    }
    info_path = out / NAME / INFO_NAME
    atomic_write_json(info_path, info)
    return paths + [info_path]
