"""Options of ``subtitle-vlm dataset`` (export); ``--check`` has its own flags in dataset_cli."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from subtitle_vlm.data.prompts import DEFAULT_PROMPT
from subtitle_vlm.io import InputError

FORMATS = ("minicpmv", "tinyllava", "messages", "imagefolder", "gold")
LINK_MODES = ("auto", "hardlink", "symlink", "copy")


def parse_formats(spec: str | list[str]) -> list[str]:
    """``all`` or a comma/space separated subset of FORMATS, in FORMATS order."""
    items = spec if isinstance(spec, list) else [spec]
    names = [n for item in items for n in re.split(r"[,\s]+", item.strip()) if n]
    if not names or "all" in names:
        return list(FORMATS)
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise InputError(f"--formats: unknown format(s) {', '.join(unknown)}; "
                         f"choose 'all' or some of {','.join(FORMATS)}")
    return [f for f in FORMATS if f in names]


@dataclass
class DatasetConfig:
    input: str = field(default="", metadata={
        "help": "frame set folder (images + metadata.jsonl) or the original TSV file (name<TAB>sentence)"})
    images: str | None = field(default=None, metadata={
        "help": "image folder for a TSV input (default: the TSV's folder)"})
    out: str = field(default="", metadata={"help": "output folder for every format"})
    train_ratio: float = field(default=0.9, metadata={"help": "share of samples in the train split (0 < r <= 1)"})
    seed: int = field(default=0, metadata={"help": "seed of the deterministic train/val shuffle"})
    prompt: str = field(default=DEFAULT_PROMPT, metadata={"help": "the user instruction in every sample"})
    formats: str = field(default="all", metadata={
        "help": f"'all' or a comma list of {','.join(FORMATS)}"})
    imagefolder_link: Literal["auto", "hardlink", "symlink", "copy"] = field(default="auto", metadata={
        "help": "how imagefolder/<split>/ gets the images: auto (hardlink, else symlink) | hardlink | symlink | copy"})
    verify_images: bool = field(default=True, metadata={
        "help": "open each image's header and skip the ones that are not readable images"})
    strict: bool = field(default=False, metadata={
        "help": "stop with an error listing the bad records instead of skipping them"})

    def validate(self) -> None:
        if not self.input:
            raise InputError("--input is required: a frame set folder or a TSV file (name<TAB>sentence)")
        if not self.out:
            raise InputError("--out is required: the folder to write the dataset files into")
        if not 0.0 < self.train_ratio <= 1.0:
            raise InputError(f"--train-ratio must be in (0, 1], got {self.train_ratio}")
        if self.imagefolder_link not in LINK_MODES:
            raise InputError(f"--imagefolder-link: choose one of {', '.join(LINK_MODES)}, "
                             f"got {self.imagefolder_link!r}")
        if not self.prompt.strip():
            raise InputError("--prompt is empty; give the instruction the model should follow")
        if "<image>" in self.prompt:
            raise InputError("--prompt must not contain '<image>': the exporters place the image tag themselves")
        parse_formats(self.formats)

    @property
    def format_list(self) -> list[str]:
        return parse_formats(self.formats)
