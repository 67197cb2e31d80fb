"""The selector model file: what it holds, how it scores a detection, and where the default lives.

A model file is JSON: the feature names it was trained on, the model (gradient-boosted trees or a
logistic regression, exported as plain arrays), the probability above which a line counts as subtitle,
and the recipe that rebuilt it (command, seed, frame sets, metrics). Scoring is numpy only, so the engine
loads it without scikit-learn (which only training needs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from subtitle_vlm.engines.ppocr.selector.features import FEATURES
from subtitle_vlm.io import InputError

FORMAT = "subtitle-vlm-ppocr-selector"
VERSION = 2
MODEL_FILE = "selector.json"
DEFAULT_MODEL = Path(__file__).with_name("default_selector.json")
# sha256 of the shipped model; its recipe (inside the file and in docs/selector.md) rebuilds it.
DEFAULT_SHA256 = "bafcfca552136e7ba5e7bc65227780316d03ba6bbc6ea9e5c0be8f8a1b71f841"


@dataclass
class SelectorModel:
    kind: str  # "gbdt" or "logistic"
    features: list[str]
    params: dict
    threshold: float = 0.5
    recipe: dict = field(default_factory=dict)
    # Which neighbours of a chosen line belong to the same subtitle (pairs.py); None: candidates only.
    pair: "SelectorModel | None" = None

    # ------------------------------------------------------------------ scoring
    def raw(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != len(self.features):
            raise ValueError(f"selector expects {len(self.features)} features per line, got shape {X.shape}")
        if self.kind == "logistic":
            p = self.params
            Z = (X.astype(np.float64) - np.asarray(p["mean"])) / np.asarray(p["scale"])
            return Z @ np.asarray(p["coef"]) + float(p["intercept"])
        out = np.full(len(X), float(self.params["init"]), dtype=np.float64)
        lr = float(self.params["learning_rate"])
        Xd = X.astype(np.float64)  # trees compare float32 features against float64 thresholds
        rows = np.arange(len(X))
        for t in self._trees():
            node = np.zeros(len(X), dtype=np.int64)
            for _ in range(t["depth"] + 1):
                left = t["left"][node]
                inner = left >= 0
                if not inner.any():
                    break
                go_left = Xd[rows, t["feature"][node]] <= t["threshold"][node]
                node = np.where(inner, np.where(go_left, left, t["right"][node]), node)
            out += lr * t["value"][node]
        return out

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probability that each line (row of X) belongs to the subtitle."""
        if len(X) == 0:
            return np.zeros(0)
        return 1.0 / (1.0 + np.exp(-self.raw(X)))

    def _trees(self) -> list[dict]:
        cached = getattr(self, "_tree_cache", None)
        if cached is None:
            cached = []
            for t in self.params["trees"]:
                left = np.asarray(t["left"], dtype=np.int64)
                cached.append({"feature": np.maximum(0, np.asarray(t["feature"], dtype=np.int64)),
                               "threshold": np.asarray(t["threshold"], dtype=np.float64),
                               "left": left, "right": np.asarray(t["right"], dtype=np.int64),
                               "value": np.asarray(t["value"], dtype=np.float64),
                               "depth": int(t.get("depth", 8))})
            self._tree_cache = cached
        return cached

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict:
        pair = None
        if self.pair is not None:
            pair = {"kind": self.pair.kind, "features": list(self.pair.features), "threshold": self.pair.threshold,
                    "params": self.pair.params}
        return {"format": FORMAT, "version": VERSION, "kind": self.kind, "features": list(self.features),
                "threshold": self.threshold, "params": self.params, "pair": pair, "recipe": self.recipe}

    def save(self, path: str | Path) -> Path:
        from subtitle_vlm.io import atomic_write_text

        path = Path(path)
        if path.is_dir() or not path.suffix:
            path = path / MODEL_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n")
        return path


def load_selector(spec: str | Path | None = None) -> SelectorModel:
    """A selector model from a file, a folder holding ``selector.json``, or None/"default" for the shipped one."""
    if spec in (None, "", "default"):
        path = DEFAULT_MODEL
    else:
        path = Path(spec)
        if path.is_dir():
            path = path / MODEL_FILE
    if not path.is_file():
        raise InputError(f"selector model {path} does not exist: give a folder made by `subtitle-vlm "
                         "train-selector --out DIR` (it holds selector.json), a selector.json file, "
                         "or \"default\" for the shipped model")
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"selector model {path} is not a readable JSON file ({e}); retrain it with "
                         "`subtitle-vlm train-selector`") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise InputError(f"{path} is not a selector model (no \"format\": \"{FORMAT}\"); retrain it with "
                         "`subtitle-vlm train-selector`")
    from subtitle_vlm.engines.ppocr.selector.pairs import PAIR_FEATURES

    pair = d.get("pair")
    if (d.get("version") != VERSION or list(d.get("features", [])) != list(FEATURES)
            or (pair is not None and list(pair.get("features", [])) != list(PAIR_FEATURES))):
        raise InputError(f"selector model {path} was made for other features (version {d.get('version')}); "
                         "this version computes different ones: retrain it with `subtitle-vlm train-selector`")
    if pair is not None:
        pair = SelectorModel(kind=pair["kind"], features=list(pair["features"]), params=pair["params"],
                             threshold=float(pair.get("threshold", 0.5)))
    return SelectorModel(kind=d["kind"], features=list(d["features"]), params=d["params"],
                         threshold=float(d.get("threshold", 0.5)), recipe=d.get("recipe", {}), pair=pair)


__all__ = ["DEFAULT_MODEL", "DEFAULT_SHA256", "FORMAT", "MODEL_FILE", "SelectorModel", "load_selector"]
