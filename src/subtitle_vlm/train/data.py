"""Training data: frame set folders and the ``messages`` JSONL files the dataset stage writes.

A messages record is ``{"messages": [{"role": "user", "content": "<image>" + prompt},
{"role": "assistant", "content": text}], "images": [path]}``; a relative image path is read relative to the
JSONL file. Frames are cropped with the run's crop spec when loaded, the same way inference crops them.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from subtitle_vlm.crop import crop_image, parse_crop
from subtitle_vlm.io import InputError, read_frame_set, read_jsonl
from subtitle_vlm.text.normalize import normalize

log = logging.getLogger(__name__)
IMAGE_TAG = "<image>"


@dataclass
class Example:
    id: str
    image_path: Path
    answer: str
    prompt: str | None  # None: use the run's prompt


def _from_frame_set(folder: Path) -> list[Example]:
    out = []
    for fr in read_frame_set(folder):
        if fr.text is None:
            raise InputError(f"{folder}: frame {fr.path.name} has no 'text' in metadata.jsonl; training needs "
                             "labelled frames (a frame set written by 'subtitle-vlm synth' or 'dataset')")
        out.append(Example(fr.id, fr.path, fr.text, None))
    return out


def _content_text(content, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(IMAGE_TAG if c.get("type") == "image" else c.get("text", "") for c in content)
    raise InputError(f"{where}: message content must be a string or a list of parts")


def _from_messages(path: Path) -> list[Example]:
    out = []
    for i, rec in enumerate(read_jsonl(path), 1):
        where = f"{path}:{i}"
        msgs, images = rec.get("messages"), rec.get("images")
        if not isinstance(msgs, list) or len(msgs) < 2:
            raise InputError(f"{where}: expected 'messages' with a user and an assistant turn")
        if not isinstance(images, list) or len(images) != 1:
            raise InputError(f"{where}: expected 'images' with exactly one image path")
        user = next((m for m in msgs if m.get("role") == "user"), None)
        answer = next((m for m in msgs if m.get("role") == "assistant"), None)
        if user is None or answer is None:
            raise InputError(f"{where}: needs one 'user' and one 'assistant' message")
        prompt = _content_text(user.get("content"), where).replace(IMAGE_TAG, "").strip()
        image = Path(images[0])
        if not image.is_absolute():
            image = path.parent / image
        out.append(Example(rec.get("id") or image.stem, image, _content_text(answer.get("content"), where),
                           prompt or None))
    return out


def load_examples(paths: list[str | Path]) -> list[Example]:
    """Examples from every path (frame set folder or messages .jsonl), in order; clear errors otherwise."""
    examples: list[Example] = []
    for p in map(Path, paths):
        if p.is_dir():
            examples += _from_frame_set(p)
        elif p.is_file() and p.suffix.lower() in (".jsonl", ".json"):
            examples += _from_messages(p)
        else:
            raise InputError(f"{p}: not a frame set folder or a messages .jsonl file; pass what "
                             "'subtitle-vlm synth' or 'subtitle-vlm dataset' wrote")
    if not examples:
        raise InputError(f"{', '.join(map(str, paths))}: no examples found")
    missing = [e.image_path for e in examples if not e.image_path.is_file()]
    if missing:
        raise InputError(f"{len(missing)} image(s) not found, first: {missing[0]}; fix the paths in the data file")
    return examples


def choose_prompt(examples: list[Example], explicit: str | None, default: str) -> str:
    """The run's prompt: the explicit one, else the data's (the most common when they differ), else the default."""
    if explicit:
        return explicit
    counts = Counter(e.prompt for e in examples if e.prompt)
    if not counts:
        return default
    if len(counts) > 1:
        log.warning("the data uses %d different prompts; the run config records the most common one", len(counts))
    return counts.most_common(1)[0][0]


class FrameDataset:
    """A map-style dataset of {image, prompt, answer, id}; images are read and cropped on access."""

    def __init__(self, examples: list[Example], *, prompt: str, crop: str = "none", normalize_profile: str = "none",
                 override_prompt: bool = False):
        spec = parse_crop(crop)
        if spec.kind == "auto":
            raise InputError("--crop auto is resolved per frame at inference; for training use bottom=FRACTION "
                             "or box=x0,y0,x1,y1")
        self.examples = examples
        self.prompt = prompt
        self.override_prompt = override_prompt
        self.crop = spec
        self.profile = normalize_profile

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict:
        from PIL import Image

        ex = self.examples[i]
        try:
            with Image.open(ex.image_path) as im:
                image = crop_image(im.convert("RGB"), self.crop)
        except OSError as e:
            raise InputError(f"{ex.image_path}: cannot read image ({e}); remove it from the data or replace it") from None
        prompt = self.prompt if (self.override_prompt or not ex.prompt) else ex.prompt
        return {"image": image, "prompt": prompt, "answer": normalize(ex.answer, self.profile), "id": ex.id}
