"""Streaming video decode with PyAV: one frame at a time, timestamps from each frame's pts.

Nothing but the frame in hand is held, so memory does not grow with the video's length, and a
variable-frame-rate video gets its true times (no frame-count times frame-rate guesswork). Bad files
raise InputError with what to change: missing, not a media file, audio only, no decoder for the codec,
no frames at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from subtitle_vlm.io import InputError

log = logging.getLogger(__name__)

# Pixel formats whose first plane is 8-bit luma: the band signature reads it without any conversion.
_LUMA_PLANE_FORMATS = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv410p",
                       "yuv411p", "yuv440p", "yuvj440p", "nv12", "nv21", "gray", "yuva420p"}
REENCODE_HINT = "re-encode it, e.g. ffmpeg -i INPUT -c:v libx264 -pix_fmt yuv420p OUT.mp4"


@dataclass
class VideoInfo:
    path: str
    width: int
    height: int
    codec: str
    fps: float | None  # average rate from the container (None when unknown); frame times come from pts
    duration: float | None  # seconds, None when the container does not say
    frames: int  # the container's frame count, 0 when unknown

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _open(path: str | Path):
    import av

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; pass a video file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); it holds no video")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as e:
        raise InputError(f"{path}: not a video FFmpeg can read ({e.strerror or e}); the file may be corrupt "
                         f"or truncated: {REENCODE_HINT}") from None
    except (IndexError, OSError) as e:
        raise InputError(f"{path}: cannot open it as a video ({e}); {REENCODE_HINT}") from None
    return container


def _video_stream(container, path):
    try:
        streams = container.streams.video
    except IndexError:
        streams = ()
    if not streams:
        kinds = sorted({s.type for s in container.streams})
        has = f" (it has only {', '.join(kinds)} streams)" if kinds else " (it has no streams at all)"
        container.close()
        raise InputError(f"{path}: no video stream{has}; pass a video with burned-in subtitles")
    stream = streams[0]
    if stream.codec_context is None:
        tag = ""
        try:
            tag = f" (tag {stream.codec_tag!r})"
        except Exception:  # the tag is informational only
            pass
        container.close()
        raise InputError(f"{path}: the video codec{tag} has no decoder in this FFmpeg build (unsupported codec); "
                         f"{REENCODE_HINT}")
    return stream


def probe(path: str | Path) -> VideoInfo:
    """Open ``path`` and describe its first video stream, or raise InputError saying what is wrong."""
    container = _open(path)
    stream = _video_stream(container, path)
    try:
        rate = stream.average_rate or stream.base_rate
        fps = float(rate) if rate else None
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        cc = stream.codec_context
        return VideoInfo(path=str(path), width=cc.width, height=cc.height, codec=cc.name, fps=fps,
                         duration=duration, frames=int(stream.frames or 0))
    finally:
        container.close()


@dataclass
class DecodedFrame:
    """One decoded frame: its index in decode order, presentation time (s) and the PyAV frame."""

    index: int
    time: float
    frame: object  # av.VideoFrame; kept as-is so RGB conversion happens only for frames that get read

    def luma(self, y0: int = 0, y1: int | None = None) -> np.ndarray:
        """Rows ``y0:y1`` of the 8-bit luma plane as a (rows, width) uint8 view (no colour conversion)."""
        f = self.frame
        if f.format.name in _LUMA_PLANE_FORMATS:
            plane = f.planes[0]
            rows = np.frombuffer(plane, np.uint8).reshape(f.height, plane.line_size)
            return rows[y0:y1, : f.width]
        return f.to_ndarray(format="gray")[y0:y1]

    def rgb(self):
        """The frame as an RGB PIL image."""
        return self.frame.to_image()


def iter_frames(path: str | Path, threads: int = 0, stats: dict | None = None) -> Iterator[DecodedFrame]:
    """Decode ``path`` frame by frame in presentation order.

    Times are the pts minus the container's start time, so they match what a player shows. A packet the
    decoder rejects is skipped with a warning (counted in ``stats['decode_errors']``); a video with no
    decodable frame raises InputError.
    """
    import av

    container = _open(path)
    stream = _video_stream(container, path)
    stream.thread_type = "AUTO"
    if threads:
        stream.codec_context.thread_count = threads
    start = container.start_time / 1_000_000 if container.start_time is not None else 0.0
    stats = stats if stats is not None else {}
    stats.setdefault("decode_errors", 0)
    n = 0
    last_t = None
    step = 1.0 / float(stream.average_rate) if stream.average_rate else 0.04
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError as e:
                stats["decode_errors"] += 1
                if stats["decode_errors"] <= 3:
                    log.warning("%s: skipping a packet the decoder rejects (%s)", path, e.strerror or e)
                continue
            for f in frames:
                t = f.time
                if t is None:
                    t = (last_t + step) if last_t is not None else 0.0
                else:
                    t -= start
                if last_t is not None and t <= last_t:
                    # Broken or repeated timestamps: keep times strictly increasing so cues stay ordered.
                    t = last_t + 1e-3
                yield DecodedFrame(n, t, f)
                last_t = t
                n += 1
    except av.error.FFmpegError as e:
        stats["decode_errors"] += 1
        log.warning("%s: stopped reading at %.2f s: %s (the file may be truncated)", path, last_t or 0.0,
                    e.strerror or e)
    finally:
        container.close()
    stats["frames"] = n
    if n == 0:
        why = "it may be truncated or corrupt" if stats["decode_errors"] else "it is a zero-length video"
        raise InputError(f"{path}: the video stream holds no decodable frames ({why}); pass a video with frames")


def file_fingerprint(path: str | Path, chunk: int = 4 << 20) -> str:
    """A hash of size + first and last ``chunk`` bytes: identifies a video for the cache in milliseconds,
    whatever its length (an edit anywhere in the middle that keeps the size is the case it misses)."""
    import hashlib

    path = Path(path)
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(chunk))
        if size > chunk:
            f.seek(max(chunk, size - chunk))
            h.update(f.read(chunk))
    return h.hexdigest()[:20]




def grab_frames(path: str | Path, count: int) -> list:
    """``count`` frames (RGB PIL images) spread evenly over the video, by seeking: for finding the band."""
    info = probe(path)
    if not info.duration or count <= 0:
        return []
    container = _open(path)
    stream = _video_stream(container, path)
    out: list = []
    try:
        for k in range(count):
            target = info.duration * (k + 0.5) / count
            container.seek(int(target / stream.time_base) + (stream.start_time or 0), stream=stream,
                           backward=True)
            for f in container.decode(stream):
                if f.time is not None and f.time + 1e-6 >= target:
                    out.append(f.to_image())
                    break
    except Exception as e:  # a seek failure only costs the auto band; the caller falls back
        log.warning("%s: could not seek for --crop auto (%s)", path, e)
    finally:
        container.close()
    return out


__all__ = ["VideoInfo", "DecodedFrame", "probe", "iter_frames", "file_fingerprint", "grab_frames"]
