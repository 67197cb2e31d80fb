"""Per-frame readings cache: an append-only JSONL an interrupted ``video`` run resumes from.

The first line names what the readings depend on (the video's fingerprint, the engine and its settings,
the reader's crop); each further line is one reading ``{"i": frame index, "t": time, "text": ...}``,
appended with fsync after every engine batch. A rerun with the same key reuses every reading it finds
(decoding is cheap, reading is not); a cache made for another video or other settings is set aside
(renamed ``*.stale``) and a fresh one started. A line cut short by a crash is dropped.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from subtitle_vlm.io import append_jsonl, read_jsonl, repair_jsonl_tail

log = logging.getLogger(__name__)


def cache_key(fingerprint: str, engine_desc: dict, read_crop: str | None) -> str:
    blob = json.dumps({"video": fingerprint, "engine": engine_desc, "read_crop": read_crop},
                      sort_keys=True, ensure_ascii=False, default=str)
    import hashlib

    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class ReadingsCache:
    def __init__(self, path: str | Path, key: str, meta: dict | None = None):
        self.path = Path(path)
        self.key = key
        self.meta = meta or {}
        self.readings: dict[int, str] = {}
        self.resumed = 0
        self._started = False
        self._load()

    def _load(self) -> None:
        """Take the readings of a matching cache; the file itself is (re)started with the first reading,
        so a run that reads nothing (a bad file, a video without subtitles) leaves no cache behind."""
        if self.path.exists():
            repair_jsonl_tail(self.path)
            try:
                rows = read_jsonl(self.path, tolerate_partial_last_line=True)
            except ValueError:
                rows = []
            if rows and rows[0].get("key") == self.key:
                self.readings = {int(r["i"]): str(r.get("text", "")) for r in rows[1:] if "i" in r}
                self.resumed = len(self.readings)
                self._started = True
                return
            stale = self.path.with_name(self.path.name + ".stale")
            os.replace(self.path, stale)
            log.warning("%s was made for another video or other reader settings; moved it to %s and "
                        "starting a new cache", self.path, stale)

    def get(self, index: int) -> str | None:
        return self.readings.get(index)

    def add(self, rows: list[tuple[int, float, str]]) -> None:
        lines = [{"i": i, "t": round(t, 6), "text": text} for i, t, text in rows]
        if not self._started:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lines.insert(0, {"key": self.key, **self.meta})
            self._started = True
        append_jsonl(self.path, lines)
        self.readings.update({i: text for i, _, text in rows})

    def remove(self) -> None:
        if self.path.exists():
            self.path.unlink()


__all__ = ["ReadingsCache", "cache_key"]
