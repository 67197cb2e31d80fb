"""The engine contract the predict loop, the video reader and the trainer's evaluation rely on."""

from __future__ import annotations

from typing import Any, ClassVar


class Engine:
    """Reads subtitles. Subclasses set ``name`` and implement ``from_config`` and ``read``.

    ``read`` gets a list of RGB PIL images, already cropped by the caller (the predict loop and the video
    reader resolve the run's crop once, with ``engines.settings.resolve_crop``), and returns one string per
    image: the subtitle as one line, "" when there is none. It must not drop or reorder items. ``batch_size`` is how many images the loop hands over at once.
    """

    name: ClassVar[str] = "base"
    batch_size: int = 1
    # True for an engine that finds the subtitle in the whole frame itself: callers never crop for it.
    reads_whole_frame: ClassVar[bool] = False

    @classmethod
    def from_config(cls, cfg: Any) -> "Engine":
        raise NotImplementedError

    def read(self, images: list) -> list[str]:
        raise NotImplementedError

    def read_region(self, images: list, box) -> list[str]:
        """Read the subtitle within ``box`` (x0, y0, x1, y1 pixels) of each whole frame. By default the
        frames are cropped to it; an engine that places text in the whole frame searches the box's rows
        with the frame as context (PP-OCR)."""
        return self.read([im.crop(tuple(box)) for im in images])

    def describe(self) -> dict:
        """What to record beside the predictions (model path, prompt, ...)."""
        return {"engine": self.name}

    def close(self) -> None:
        pass


class ChatModelEngine(Engine):
    """An engine over upstream model code whose ``chat`` answers one image per call (MiniCPM-V, TinyLLaVA).

    Subclasses implement ``read`` with their model's ``chat`` signature and set ``decoding`` for ``describe``.
    """

    decoding: ClassVar[str] = "greedy"

    def __init__(self, model, tokenizer, prompt: str, max_new_tokens: int = 64, info: dict | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.prompt = prompt
        self.max_new_tokens = max_new_tokens
        self.batch_size = 1  # chat() takes one image
        self.info = dict(info or {})

    def describe(self) -> dict:
        return {"engine": self.name, "prompt": self.prompt,
                "decoding": self.decoding, "max_new_tokens": self.max_new_tokens, **self.info}


def seed_everything(seed: int) -> None:
    """Seed torch when it is there (decoding is deterministic; this fixes anything else model code draws)."""
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)
