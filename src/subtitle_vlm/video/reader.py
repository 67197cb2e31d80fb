"""The reading side of the video pass: batches for the engine, on a worker thread, with cache and retries.

Frames to read arrive one at a time from the streaming pass. They are converted to RGB (and cropped to
the run's crop or the watched band; an engine that finds the subtitle in whole frames gets them whole,
with the watched region for ``read_region``) on the caller's thread, batched, and read on one worker
thread while decoding goes on, so the CPU decodes while the engine (onnxruntime, torch) reads. At most
two batches are in flight, which bounds memory. Results come back to the caller's thread
(``poll``/``flush``), where they fill the states, the cache (one fsynced append per batch) and the retries:

A band that looks like text but reads as "" gets another read, on the first sample after the previous
read of the same stretch (while the reading is still in flight that frame is kept as the *spare*), up
to ``max_retries`` times. The frame chosen depends on the video alone, never on thread timing, so runs
are repeatable.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from subtitle_vlm.video.cache import ReadingsCache
from subtitle_vlm.video.cues import State
from subtitle_vlm.video.decode import DecodedFrame

MAX_IN_FLIGHT = 2  # batches handed to the worker and not yet collected


@dataclass
class _Pending:
    state: State
    image: object
    index: int
    time: float
    retry: bool = False


def tidy(text) -> str:
    return " ".join(str(text).split())


@dataclass
class Reader:
    engine: object
    cache: ReadingsCache | None
    stats: object  # extract.ExtractStats: reads, cached, retries, read_seconds
    crop_box: tuple[int, int, int, int] | None = None  # pixel box the reader sees (None: the whole frame)
    engine_crop: str | None = None  # the run's crop spec (engines.settings.resolve_crop), as predict
    region: tuple[int, int, int, int] | None = None  # whole frames go to engine.read_region(images, region)
    staging: Path | None = None  # where read frames wait until their cue is known (--frames-out)
    batch_size: int = 4
    max_retries: int = 0
    background: bool = True  # read on a worker thread while the caller decodes
    pending: list[_Pending] = field(default_factory=list)
    _in_flight: deque = field(default_factory=deque)
    _pool: ThreadPoolExecutor | None = None

    # ------------------------------------------------------------ requests
    def request(self, state: State, fr: DecodedFrame, retry: bool = False) -> None:
        """Queue ``fr`` to be read for ``state``; a retry only replaces an empty reading."""
        if retry:
            self.stats.retries += 1
        else:
            state.read_index, state.read_time = fr.index, fr.time
        state.reads += 1
        state.last_read_index = fr.index
        image = None
        if self.staging is not None:
            from subtitle_vlm.io import save_image_atomic

            image = fr.rgb()
            save_image_atomic(image, self.staging / f"{fr.index}.jpg", quality=95)
        hit = self.cache.get(fr.index) if self.cache is not None else None
        if hit is not None:
            self.stats.cached += 1
            self._apply(state, fr.index, fr.time, hit, retry)
            self.maybe_retry(state)
            return
        image = image if image is not None else fr.rgb()
        state.pending = True
        self.pending.append(_Pending(state, self._crop(image), fr.index, fr.time, retry))
        if len(self.pending) >= self.batch_size:
            self._submit()

    def offer_spare(self, state: State, fr: DecodedFrame) -> None:
        """A later frame of ``state`` (the band unchanged): retry on it, or keep it for when the reading
        in flight comes back empty."""
        if state.text or not state.text_like or state.reads > self.max_retries:
            return
        if fr.index <= state.last_read_index or state.spare is not None:
            return
        if state.pending:
            state.spare = fr
        else:
            self.request(state, fr, retry=True)

    def maybe_retry(self, state: State) -> None:
        if (state.text or state.pending or not state.text_like or state.spare is None
                or state.reads > self.max_retries):
            if state.text or state.reads > self.max_retries:
                state.spare = None
            return
        fr, state.spare = state.spare, None
        self.request(state, fr, retry=True)

    @staticmethod
    def _apply(state: State, index: int, t: float, text: str, retry: bool) -> None:
        text = tidy(text)
        if not retry:
            state.text = text
        elif text:
            state.text, state.read_index, state.read_time = text, index, t
        if state.text:
            state.spare = None

    def _crop(self, image):
        if self.crop_box is not None:
            return image.crop(self.crop_box)
        if self.engine_crop:
            from subtitle_vlm.crop import crop_image

            return crop_image(image, self.engine_crop)
        return image

    # ------------------------------------------------------------ batches
    def _read(self, batch: list[_Pending]) -> tuple[list[str], float]:
        """Runs on the worker (or inline): the engine call and nothing that touches shared state."""
        t0 = time.perf_counter()
        images = [p.image for p in batch]
        texts = self.engine.read_region(images, self.region) if self.region else self.engine.read(images)
        if len(texts) != len(batch):
            raise RuntimeError(f"engine {getattr(self.engine, 'name', '?')} returned {len(texts)} readings "
                               f"for {len(batch)} frames")
        return list(texts), time.perf_counter() - t0

    def _submit(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        if not self.background:
            self._finish(batch, *self._read(batch))
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="video-read")
        self._in_flight.append((batch, self._pool.submit(self._read, batch)))
        while len(self._in_flight) > MAX_IN_FLIGHT:
            self._collect_one()

    def _collect_one(self) -> None:
        batch, fut = self._in_flight.popleft()
        texts, seconds = fut.result()  # an engine error surfaces here, on the caller's thread
        self._finish(batch, texts, seconds)

    def _finish(self, batch: list[_Pending], texts: list[str], seconds: float) -> None:
        self.stats.read_seconds += seconds
        self.stats.reads += len(batch)
        if self.cache is not None:
            self.cache.add([(p.index, p.time, tidy(t)) for p, t in zip(batch, texts)])
        for p, t in zip(batch, texts):
            p.state.pending = False
            self._apply(p.state, p.index, p.time, t, p.retry)
        for p in batch:
            self.maybe_retry(p.state)

    @property
    def queued(self) -> int:
        """Frames waiting for the engine or being read."""
        return len(self.pending) + sum(len(b) for b, _ in self._in_flight)

    def poll(self) -> None:
        """Take in every batch the worker has finished (never waits)."""
        while self._in_flight and self._in_flight[0][1].done():
            self._collect_one()

    def flush(self) -> None:
        """Read everything queued, retries included, and wait for it."""
        while self.pending or self._in_flight:
            if self.pending:
                self._submit()
            if self._in_flight:
                self._collect_one()

    def close(self) -> None:
        """Stop the worker: a batch being read finishes first (and, when the pass was cut short, its
        readings still go to the cache for the rerun); queued ones are dropped."""
        if self._pool is not None:
            for _, fut in self._in_flight:
                fut.cancel()
            self._pool.shutdown(wait=True)
            self._pool = None
        for batch, fut in self._in_flight:
            if self.cache is not None and fut.done() and not fut.cancelled() and fut.exception() is None:
                texts, _ = fut.result()
                self.cache.add([(p.index, p.time, tidy(t)) for p, t in zip(batch, texts)])
        self._in_flight.clear()


__all__ = ["Reader"]
