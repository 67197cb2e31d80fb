"""From band states to cues.

The extractor cuts the video into *states*: stretches over which the subtitle band looks the same, each
with one reading (the reader ran once for it, or the band was empty). Cues come from merging
consecutive states whose readings are near-identical (rapidfuzz ratio >= ``similarity``), splitting at
empty readings, joining a cue across a gap shorter than ``merge_gap`` when both sides read alike, and
dropping cues shorter than ``min_duration``. A merged cue takes the reading that covers most of its time.
Pure logic, no decoding: every rule is unit-testable.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from subtitle_vlm.video.srt import Cue


@dataclass
class State:
    start: float  # time of the first frame of the state (seconds)
    end: float  # time the next state starts (or the video ends)
    text: str  # the reading; "" for an empty band or a frame without subtitle
    read_index: int | None = None  # decoded-frame index that was read (None: empty band, not read)
    read_time: float | None = None
    # Bookkeeping of the extractor while the video is read (see extract.Reader).
    reads: int = 0  # frames of this state handed to the reader so far
    last_read_index: int = -1  # the latest of them
    pending: bool = False  # a reading is queued and not back yet
    text_like: bool = False  # the band looks like it holds text (an empty reading is worth a retry)
    spare: object = field(default=None, repr=False, compare=False)  # a later frame kept for a retry

    @property
    def duration(self) -> float:
        return self.end - self.start


def clean_text(text: str) -> str:
    """One line, single spaces: readers may break a two-line subtitle either way."""
    return " ".join(text.split())


def similar(a: str, b: str, threshold: float) -> bool:
    if a == b:
        return True
    if threshold >= 1.0 or not a or not b:
        return False
    return fuzz.ratio(a, b) / 100.0 >= threshold


@dataclass
class _Run:
    states: list[State] = field(default_factory=list)

    @property
    def start(self) -> float:
        return self.states[0].start

    @property
    def end(self) -> float:
        return self.states[-1].end

    def best_text(self) -> str:
        weight: dict[str, float] = defaultdict(float)
        for s in self.states:
            if s.text:
                weight[s.text] += s.duration
        # Longest total time wins; ties go to the longer string (a truncated reading loses).
        return max(weight, key=lambda t: (weight[t], len(t))) if weight else ""

    def representative(self) -> State:
        text = self.best_text()
        return max((s for s in self.states if s.text == text), key=lambda s: s.duration)


def build_cues(states: list[State], similarity: float = 0.8, min_duration: float = 0.2,
               merge_gap: float = 0.1) -> list[Cue]:
    """Cues from consecutive states (sorted, contiguous). Each cue's ``extra`` records which frame was
    read for it (``frame_index``, ``frame_time``) and how many states it merged."""
    runs: list[_Run] = []
    cur: _Run | None = None
    for s in states:
        s.text = clean_text(s.text)
        if not s.text:
            cur = None
            continue
        if cur is not None and similar(cur.best_text(), s.text, similarity):
            cur.states.append(s)
            continue
        cur = _Run([s])
        runs.append(cur)
    # Join across short gaps (a flickering frame, a one-frame dissolve) when both sides read alike.
    joined: list[_Run] = []
    for r in runs:
        if joined:
            prev = joined[-1]
            if 0 <= r.start - prev.end < merge_gap and similar(prev.best_text(), r.best_text(), similarity):
                prev.states.extend(r.states)
                continue
        joined.append(r)
    cues = []
    for r in joined:
        if r.end - r.start < min_duration:
            continue
        rep = r.representative()
        cues.append(Cue(r.start, r.end, r.best_text(), {
            "frame_index": rep.read_index, "frame_time": rep.read_time, "states": len(r.states)}))
    return cues


__all__ = ["State", "build_cues", "clean_text", "similar"]
