"""The ``messages`` + ``images`` JSONL that ms-swift and LLaMA-Factory read (and the native trainer).

One line per sample: ``{"id", "messages": [{"role": "user", "content": "<image>" + prompt}, {"role":
"assistant", "content": text}], "images": [ABSOLUTE path]}``. Both readers match each ``<image>`` tag to one
entry of ``images``, in order.
"""

from __future__ import annotations

from pathlib import Path

from subtitle_vlm.data.prompts import user_text_with_image
from subtitle_vlm.data.sources import Sample
from subtitle_vlm.io import write_jsonl

NAME = "messages"


def record(sample: Sample, prompt: str) -> dict:
    return {
        "id": sample.id,
        "messages": [
            {"role": "user", "content": user_text_with_image(prompt, newline=False)},
            {"role": "assistant", "content": sample.text},
        ],
        "images": [str(sample.image)],
    }


def write(out: Path, splits: dict[str, list[Sample]], prompt: str, **_) -> list[Path]:
    paths = []
    for split, samples in splits.items():
        path = out / NAME / f"{split}.jsonl"
        write_jsonl(path, (record(s, prompt) for s in samples))
        paths.append(path)
    return paths
