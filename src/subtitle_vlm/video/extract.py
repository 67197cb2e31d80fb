"""The video reader: decode -> band signature per frame -> read only when the band changed -> states.

One streaming pass. Every decoded frame gets a band signature (see band.py) and its difference to the
previous frame. At each sample (``fps`` per second) the band is compared with the band of the current
state; when it changed, the frames since the previous sample (held in a small buffer, so memory stays
bounded) are searched for the frame where the change happened, and that frame starts a new state. When
an interval holds more than one change (a cue shorter than the sampling step, or a gap between two cues
that falls between samples), the reader also reads the middle of each inner stretch. Empty bands are
gaps without asking the reader. Reading itself (batches on a worker thread, cache, retries) is reader.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from subtitle_vlm.video import band
from subtitle_vlm.video.cues import State
from subtitle_vlm.video.decode import DecodedFrame, VideoInfo, iter_frames
from subtitle_vlm.video.reader import Reader



@dataclass
class ExtractStats:
    frames: int = 0  # decoded
    samples: int = 0  # sampled at --fps
    reads: int = 0  # frames the engine read in this run
    cached: int = 0  # readings taken from the cache (an earlier, interrupted run)
    retries: int = 0  # extra reads of a text-like band the reader first saw as empty
    empty: int = 0  # states whose band held no text (not read)
    states: int = 0
    decode_errors: int = 0
    video_seconds: float = 0.0
    seconds: float = 0.0  # wall time of the pass (decode + detect + read)
    read_seconds: float = 0.0  # wall time inside engine.read

    @property
    def realtime_factor(self) -> float:
        return self.video_seconds / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["realtime_factor"] = round(self.realtime_factor, 3)
        for k in ("video_seconds", "seconds", "read_seconds"):
            d[k] = round(d[k], 3)
        return d


@dataclass
class _Item:
    """A decoded frame in the current sampling interval with its band signature and its difference to
    the frame before it."""

    frame: DecodedFrame
    sig: np.ndarray
    d: float


class Extractor:
    def __init__(self, cfg, reader: Reader, band_box: tuple[int, int, int, int], info: VideoInfo,
                 progress: bool = True):
        self.cfg = cfg
        self.reader = reader
        self.stats = reader.stats
        self.box = band_box
        self.info = info
        self.bs = band.for_height(info.height, luma_min=cfg.luma_min, edge_min=cfg.edge_min)
        self.thr = cfg.change_threshold
        self.states: list[State] = []
        self.ref: np.ndarray | None = None  # band signature of the current state
        self.last_read_time = 0.0
        self.progress = progress

    # ------------------------------------------------------------ band tests
    def _sig(self, fr: DecodedFrame) -> np.ndarray:
        x0, y0, x1, y1 = self.box
        return band.signature(fr.luma(y0, y1)[:, x0:x1], self.bs)

    def _diff(self, a: np.ndarray | None, b: np.ndarray) -> float:
        if a is None:
            return 1.0
        if band.is_empty(a, self.bs) and band.is_empty(b, self.bs):
            return 0.0
        return band.distance(a, b, self.bs)

    # ------------------------------------------------------------ states
    def _new_state(self, start: float, fr: DecodedFrame, sig: np.ndarray) -> None:
        st = State(start=start, end=start, text="", text_like=band.mass(sig, self.bs) >= self.cfg.retry_mass)
        self.states.append(st)
        self.stats.states += 1
        self.ref = sig
        self.last_read_time = fr.time
        if self.cfg.skip_empty and band.is_empty(sig, self.bs):
            self.stats.empty += 1
            st.read_index, st.read_time = None, fr.time
            return
        self.reader.request(st, fr)

    def _on_sample(self, items: list[_Item], sample: _Item) -> None:
        """``items``: frames after the previous sample up to and including ``sample``."""
        self.stats.samples += 1
        cfg = self.cfg
        if not self.states:
            self._new_state(items[0].frame.time, sample.frame, sample.sig)
            return
        if not cfg.detect_changes:
            start = sample.frame.time
            if cfg.refine:
                cut = max(items, key=lambda it: it.d)
                start = cut.frame.time if cut.d > self.thr else start
            self._new_state(start, sample.frame, sample.sig)
            return
        changed = self._diff(self.ref, sample.sig) > self.thr
        cuts = [k for k, it in enumerate(items) if it.d > self.thr]
        if not changed and not cuts:
            self.reader.offer_spare(self.states[-1], sample.frame)
            if cfg.reread_every and sample.frame.time - self.last_read_time >= cfg.reread_every \
                    and not band.is_empty(sample.sig, self.bs):
                self._new_state(sample.frame.time, sample.frame, sample.sig)
            return
        if not cfg.refine:
            if changed:
                self._new_state(sample.frame.time, sample.frame, sample.sig)
            return
        if not cuts:
            # A gradual change (fade): the boundary is where the band is half-way from old to new.
            target = self._diff(self.ref, sample.sig) / 2
            cuts = [next(k for k, it in enumerate(items) if self._diff(self.ref, it.sig) >= target)]
        bounds = cuts + [len(items)]
        for a, b in zip(bounds[:-1], bounds[1:]):
            last = b == len(items)
            probe = items[-1] if last else items[(a + b - 1) // 2]
            if self._diff(self.ref, probe.sig) <= self.thr:
                continue  # came back to what the current state shows: a blip, not a new subtitle
            self._new_state(items[a].frame.time, probe.frame, probe.sig)

    def _postfix(self, t: float, t0: float) -> str:
        el = time.perf_counter() - t0
        waiting = self.reader.queued
        return (f"{t / el:.1f}x real time, {self.stats.reads} read" + (f", {waiting} queued" if waiting else "")
                if el > 0 else "")

    # ------------------------------------------------------------ the pass
    def run(self, path: str | Path) -> list[State]:
        from tqdm import tqdm

        cfg = self.cfg
        step = 1.0 / cfg.fps if cfg.fps > 0 else 0.0
        next_sample = 0.0
        items: list[_Item] = []
        prev_sig = None
        last: DecodedFrame | None = None
        deltas: list[float] = []
        dec_stats: dict = {}
        total = self.info.duration
        bar = tqdm(total=round(total, 1) if total else None, unit="s", disable=not self.progress,
                   desc="video", bar_format="{l_bar}{bar}| {n:.1f}/{total_fmt} s [{elapsed}<{remaining}{postfix}]")
        t0 = time.perf_counter()
        shown = 0.0
        try:
            for fr in iter_frames(path, stats=dec_stats):
                sig = self._sig(fr)
                item = _Item(fr, sig, self._diff(prev_sig, sig))
                prev_sig = sig
                if last is not None:
                    deltas = (deltas + [fr.time - last.time])[-16:]
                last = fr
                self.stats.frames += 1
                items.append(item)
                if fr.time + 1e-6 >= next_sample:
                    self.reader.poll()
                    self._on_sample(items, item)
                    items = []
                    next_sample = (np.floor(fr.time / step + 1e-6) + 1) * step if step else 0.0
                if fr.time - shown >= 0.5:
                    bar.update(round(fr.time - shown, 3))
                    shown = fr.time
                    bar.set_postfix_str(self._postfix(fr.time, t0))
            if items:
                self._on_sample(items, items[-1])
            self.reader.flush()
            if last is not None:
                bar.update(round(max(0.0, last.time - shown), 3))
                bar.set_postfix_str(self._postfix(last.time, t0))
        finally:
            self.reader.close()
            bar.close()
            self.stats.decode_errors = dec_stats.get("decode_errors", 0)
        frame_dur = float(np.median(deltas)) if deltas else (1.0 / self.info.fps if self.info.fps else 0.04)
        end = (last.time + frame_dur) if last is not None else 0.0
        for a, b in zip(self.states, self.states[1:]):
            a.end = b.start
        if self.states:
            self.states[-1].end = end
        self.stats.video_seconds = end
        self.stats.seconds = time.perf_counter() - t0
        return self.states


__all__ = ["ExtractStats", "Extractor"]
