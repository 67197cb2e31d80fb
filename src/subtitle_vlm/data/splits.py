"""Deterministic train/val split: samples ordered by a seeded hash of their id, the first share is train.

A hash order (rather than ``random.shuffle``) depends only on the seed and each id, so it is the same on
every Python version and machine, and adding frames to a set leaves the relative order of the old ones
unchanged.
"""

from __future__ import annotations

import hashlib
from typing import Sequence, TypeVar

T = TypeVar("T")


def _order_key(seed: int, sid: str) -> bytes:
    return hashlib.sha256(f"{seed}\x00{sid}".encode("utf-8")).digest()


def train_count(n: int, train_ratio: float) -> int:
    """Train size: round(n * ratio), keeping at least one sample on each side when n >= 2 and ratio < 1."""
    if n == 0:
        return 0
    k = round(n * train_ratio)
    if train_ratio >= 1.0:
        return n
    return min(max(k, 1), n - 1) if n >= 2 else n


def split_samples(samples: Sequence[T], train_ratio: float, seed: int, key=lambda s: s.id) -> dict[str, list[T]]:
    """{"train": [...], "val": [...]}; each list in shuffled (seeded) order."""
    ordered = sorted(samples, key=lambda s: _order_key(seed, key(s)))
    k = train_count(len(ordered), train_ratio)
    return {"train": ordered[:k], "val": ordered[k:]}
