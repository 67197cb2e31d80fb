"""Cheap engines for the predict-loop tests; importable by shard processes as ``predict_fakes:Class``."""

import os
import time
from pathlib import Path

from subtitle_vlm.engines.base import Engine


def colour_text(image) -> str:
    """A reading that depends on the pixels (so a frame read in the wrong slot shows), with CSV-hostile
    characters (comma, quote) and Chinese."""
    r, g, b = image.convert("RGB").resize((1, 1)).getpixel((0, 0))
    return f'色 {r},{g},{b} "q"'


class ColourEngine(Engine):
    name = "colour"

    def __init__(self, batch_size=2):
        self.batch_size = batch_size
        self.calls = []
        self.sizes = []

    @classmethod
    def from_config(cls, cfg):
        return cls(batch_size=cfg.batch_size)

    def read(self, images):
        self.calls.append(len(images))
        self.sizes += [im.size for im in images]
        return [colour_text(im) for im in images]


class WholeFrameEngine(ColourEngine):
    """An engine that finds the subtitle itself, as PP-OCR does: it must be handed whole frames."""

    name = "whole"
    reads_whole_frame = True


class StallingEngine(ColourEngine):
    """Reads ``stall_after`` batches, writes a marker file, then hangs (to be killed)."""

    @classmethod
    def from_config(cls, cfg):
        eng = cls(batch_size=cfg.batch_size)
        eng.stall_after = int(cfg.engine_options["stall_after"])
        eng.marker = Path(cfg.engine_options["marker"])
        return eng

    def read(self, images):
        if len(self.calls) >= self.stall_after:
            self.marker.write_text(str(os.getpid()))
            time.sleep(600)
        return super().read(images)
