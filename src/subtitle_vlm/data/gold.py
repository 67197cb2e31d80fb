"""Gold labels of the validation split as a Kaggle CSV (``id,text``), ready for ``subtitle-vlm score``."""

from __future__ import annotations

from pathlib import Path

from subtitle_vlm.data.sources import Sample
from subtitle_vlm.io import write_csv_predictions

NAME = "gold"


def write(out: Path, splits: dict[str, list[Sample]], prompt: str = "", **_) -> list[Path]:
    path = out / NAME / "val.csv"
    write_csv_predictions(path, {s.id: s.text for s in splits.get("val", [])})
    return [path]
