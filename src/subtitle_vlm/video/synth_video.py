"""subtitle-vlm synth-video --out test.mp4 [--duration 60] [--size 1280x720] [--fps 25] [--cues 24] [--style clean|tv|hard] [--ticker 4] [--tags] [--seed 0]

A test video with a known cue list: our synth renderer burns subtitles into moving backgrounds (pan and
zoom over photographs, shot cuts, per-frame noise), with cues of varied length, gaps and back-to-back
changes, one text shown in two separate cues, and distractor text (a station logo throughout, titles and
captions that come and go on their own timeline); ``--ticker N`` adds a news ticker scrolling N px per frame
under the subtitles and ``--tags`` lower-third name tags (neither is a cue). Written with PyAV (libx264, or mpeg4), next to the gold
cue list as SRT (``--gold``, default OUT with .srt) and as JSON with each cue's render record
(``OUT.cues.json``). Every cue starts and ends on a frame boundary: cue frames a..b-1 give [a/fps, b/fps).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from subtitle_vlm.io import InputError
from subtitle_vlm.video.srt import Cue, to_json, write_cues



@dataclass
class SynthVideoConfig:
    out: str = field(default="", metadata={"help": "video file to write (.mp4, .mkv, .avi or .mov)"})
    gold: str | None = field(default=None, metadata={"help": "gold SRT to write; default OUT with .srt"})
    duration: float = field(default=60.0, metadata={"help": "length in seconds"})
    fps: int = field(default=25, metadata={"help": "frames per second (constant)"})
    size: str = field(default="1280x720", metadata={"help": "WIDTHxHEIGHT (at least 64x64)"})
    cues: int = field(default=24, metadata={"help": "number of subtitle cues"})
    min_cue: float = field(default=0.6, metadata={"help": "shortest cue, seconds"})
    max_cue: float = field(default=4.0, metadata={"help": "longest cue, seconds"})
    back_to_back: float = field(default=0.3, metadata={
        "help": "probability that a cue follows the previous one with no gap"})
    max_gap: float = field(default=1.5, metadata={"help": "longest gap between cues, seconds"})
    repeat: bool = field(default=True, metadata={"help": "show one text again in a later, separate cue"})
    distractors: bool = field(default=True, metadata={"help": "station logo, titles and captions"})
    ticker: float = field(default=0.0, metadata={
        "help": "a news ticker along the bottom edge scrolling this many px per frame (0: none); subtitles sit above it"})
    tags: bool = field(default=False, metadata={"help": "lower-third name tags that come and go on their own timeline"})
    style: Literal["clean", "tv", "hard"] = field(default="clean", metadata={
        "help": "subtitle look, as synth --style (per-frame degradations are left to the video codec)"})
    sentences: str | None = field(default=None, metadata={"help": "sentence file; none: the built-in corpus"})
    noise: float = field(default=3.0, metadata={"help": "per-frame Gaussian noise, luma levels (0 = none)"})
    shot: float = field(default=8.0, metadata={"help": "mean shot length (a cut to another photo), seconds"})
    codec: Literal["libx264", "mpeg4"] = field(default="libx264", metadata={"help": "video codec"})
    crf: int = field(default=20, metadata={"help": "libx264 quality (lower = better); mpeg4 uses qscale crf/6"})
    seed: int = field(default=0, metadata={"help": "seed: the same seed gives the same video and cues"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})
    overwrite: bool = field(default=False, metadata={
        "help": "replace files at --out / --gold that an earlier synth-video run did not write (refused otherwise)"})

    def validate(self) -> None:
        if not self.out:
            raise InputError("--out is required: the video file to write")
        if Path(self.out).suffix.lower() not in (".mp4", ".mkv", ".avi", ".mov"):
            raise InputError(f"--out {self.out}: use a .mp4, .mkv, .avi or .mov name")
        self.width_height()
        if self.duration <= 0 or self.fps <= 0:
            raise InputError("--duration and --fps must be positive")
        if self.cues < 0:
            raise InputError("--cues must be >= 0")
        if not 0 <= self.ticker <= 0.5 * self.width_height()[0]:
            raise InputError(f"--ticker {self.ticker}: px per frame, from 0 (no ticker) to half the frame width")
        if not 0 < self.min_cue <= self.max_cue:
            raise InputError("need 0 < --min-cue <= --max-cue")
        if self.cues and self.cues * self.min_cue > self.duration:
            raise InputError(f"{self.cues} cues of at least {self.min_cue} s do not fit in {self.duration} s; "
                             "lower --cues or --min-cue, or raise --duration")

    def width_height(self) -> tuple[int, int]:
        try:
            w, h = (int(x) for x in self.size.lower().split("x"))
        except ValueError:
            raise InputError(f"--size {self.size!r}: write it as WIDTHxHEIGHT, e.g. 1280x720") from None
        if w < 64 or h < 64 or w % 2 or h % 2:
            raise InputError(f"--size {self.size!r}: need even sides of at least 64 (yuv420p)")
        return w, h

    @property
    def gold_path(self) -> Path:
        return Path(self.gold) if self.gold else Path(self.out).with_suffix(".srt")

    @property
    def cues_json_path(self) -> Path:
        return Path(str(self.out) + ".cues.json")

    def check_outputs(self) -> None:
        """Before any rendering: the video, the gold SRT and the cues JSON are three different files, none of
        them the sentence file, each writable, and none replacing a file an earlier synth-video did not write
        (the cues JSON names the video and gold it was written with) unless --overwrite."""
        from subtitle_vlm.io import check_output, check_writable_dir, json_object_with
        from subtitle_vlm.video.srt import check_cue_output

        inputs = [("--sentences", self.sentences)]
        cues_json = self.cues_json_path

        def named_by_cues_json(key: str):
            def test(path: Path) -> bool:
                meta = json.loads(cues_json.read_text(encoding="utf-8")).get("meta", {})
                return meta.get(key) == str(path)
            return test

        check_output(self.out, flag="--out", command="synth-video", inputs=inputs,
                     outputs=[("--gold", self.gold_path)], overwrite=self.overwrite, ours=named_by_cues_json("video"))
        check_cue_output(self.gold_path, "srt", flag="--gold", command="synth-video", inputs=inputs,
                         outputs=[("--out", self.out), ("cues JSON", cues_json)], overwrite=self.overwrite)
        if not self.overwrite and self.gold_path.exists() and not _quiet_true(named_by_cues_json("gold"),
                                                                              self.gold_path):
            raise InputError(f"--gold {self.gold_path}: a file is already there that synth-video did not write "
                             "for this --out; pass --overwrite to replace it, or choose another --gold")
        check_output(cues_json, flag="--out", command="synth-video", inputs=inputs, overwrite=self.overwrite,
                     ours=json_object_with("meta", "cues"))
        for folder in {Path(self.out).resolve().parent, self.gold_path.resolve().parent}:
            check_writable_dir(folder)


def _quiet_true(test, path) -> bool:
    try:
        return bool(test(path))
    except Exception:  # unreadable or not JSON: not ours
        return False


# ---------------------------------------------------------------- timeline
def schedule(cfg: SynthVideoConfig, rng) -> list[tuple[int, int]]:
    """Cue frame spans [a, b): varied lengths, gaps or back-to-back, scaled to fill the video."""
    n_frames = int(round(cfg.duration * cfg.fps))
    if cfg.cues == 0:
        return []
    lengths = rng.uniform(cfg.min_cue, cfg.max_cue, cfg.cues)
    lengths[rng.permutation(cfg.cues)[: max(1, cfg.cues // 5)]] = cfg.min_cue  # some short cues for sure
    gaps = np.where(rng.random(cfg.cues + 1) < cfg.back_to_back, 0.0, rng.uniform(0.2, cfg.max_gap, cfg.cues + 1))
    gaps[0] = max(gaps[0], 0.3)  # the video starts without a subtitle
    gaps[-1] = max(gaps[-1], 0.3)
    total = lengths.sum() + gaps.sum()
    if total > cfg.duration:  # squeeze the gaps first, then the cues, so everything fits
        spare = max(cfg.duration - lengths.sum(), 0.0)
        gaps *= spare / gaps.sum() if gaps.sum() else 0.0
        if lengths.sum() > cfg.duration:
            lengths *= cfg.duration / lengths.sum()
    else:  # stretch the gaps to fill the time
        gaps *= (cfg.duration - lengths.sum()) / gaps.sum() if gaps.sum() else 1.0
    spans, t = [], gaps[0]
    min_len = max(1, int(round(cfg.min_cue * cfg.fps)))
    for k in range(cfg.cues):
        a = int(round(t * cfg.fps))
        b = max(a + min_len, int(round((t + lengths[k]) * cfg.fps)))
        if spans:
            a = max(a, spans[-1][1])
            b = max(b, a + min_len)
        if b > n_frames:  # ran past the end: end with the video, starting earlier to keep --min-cue
            b = n_frames
            a = max(min(a, b - min_len), spans[-1][1] if spans else 0)
            if b - a < min_len:
                break  # no room left for a cue of --min-cue
        spans.append((a, b))
        t += lengths[k] + gaps[k + 1]
    return [(a, b) for a, b in spans if b > a]


def pick_texts(sentences: list[str], n: int, repeat: bool, spans: list[tuple[int, int]], rng) -> list[str]:
    """Distinct texts, except one shown again in a later cue that a gap separates from the first."""
    if len(sentences) < n:
        raise InputError(f"need at least {n} distinct sentences for {n} cues, the corpus gives {len(sentences)}; "
                         "pass --sentences or lower --cues")
    texts = [sentences[i] for i in rng.choice(len(sentences), n, replace=False)]
    if repeat and n >= 4:
        # The repeat must not touch the earlier cue, or the two would read as one.
        later = [j for j in range(2, n) if spans[j][0] > spans[j - 1][1]]
        if later:
            j = later[int(rng.integers(len(later)))]
            texts[j] = texts[int(rng.integers(0, j - 1))]
    return texts


@dataclass
class Shot:
    start: int  # first frame
    ref: str
    z0: float
    z1: float
    p0: tuple[float, float]
    p1: tuple[float, float]


def shots(cfg: SynthVideoConfig, refs: list[str], n_frames: int, rng) -> list[Shot]:
    out, f = [], 0
    while f < n_frames:
        out.append(Shot(f, refs[int(rng.integers(len(refs)))], float(rng.uniform(1.0, 1.35)),
                        float(rng.uniform(1.0, 1.35)), tuple(rng.uniform(0, 1, 2)), tuple(rng.uniform(0, 1, 2))))
        f += max(cfg.fps, int(rng.exponential(cfg.shot) * cfg.fps))
    return out


class Backgrounds:
    """Pan and zoom over a photograph per shot: a window moving and shrinking or growing over its cover."""

    MAX_ZOOM = 1.35

    def __init__(self, cfg: SynthVideoConfig, shot_list: list[Shot], n_frames: int):
        self.W, self.H = cfg.width_height()
        self.shots = shot_list
        self.n = n_frames

    def frame(self, i: int):
        from PIL import Image

        from subtitle_vlm.synth.backgrounds import load_cover

        k = max(j for j, s in enumerate(self.shots) if s.start <= i)
        s = self.shots[k]
        end = self.shots[k + 1].start if k + 1 < len(self.shots) else self.n
        u = (i - s.start) / max(1, end - s.start - 1)
        z = s.z0 + (s.z1 - s.z0) * u
        px = s.p0[0] + (s.p1[0] - s.p0[0]) * u
        py = s.p0[1] + (s.p1[1] - s.p0[1]) * u
        cover = load_cover(s.ref, self.W, self.H, self.MAX_ZOOM)
        w, h = self.W * self.MAX_ZOOM / z, self.H * self.MAX_ZOOM / z
        x, y = px * (cover.width - w), py * (cover.height - h)
        return cover.resize((self.W, self.H), Image.Resampling.BILINEAR, box=(x, y, x + w, y + h))


# ---------------------------------------------------------------- rendering
def _synth_config(cfg: SynthVideoConfig):
    from subtitle_vlm.synth import SynthConfig

    return SynthConfig(out=str(cfg.out), count=0, seed=cfg.seed, size=cfg.size, style=cfg.style,
                       sentences=cfg.sentences, p_empty=0.0, progress=False)


def cue_record(k: int, text: str, scfg, assets, ticker: dict | None = None) -> dict:
    """Render record of cue ``k`` showing ``text``: the renderer's own random look, without whole-frame
    degradations (the codec degrades the video) and without distractors, ticker or tags (they run on their
    own timelines); with ``ticker`` (the video's) the subtitle sits above its band."""
    from subtitle_vlm.synth import sample_record
    from subtitle_vlm.synth.elements import build_elements, frame_layout

    one = dataclasses.replace(assets, sentences=[text], sentence_fonts=[tuple(assets.fonts_covering(text))])
    rec = sample_record(k, scfg, one, ticker=ticker)
    rec.update(distractors=[], ticker=None, tags=[], degradations=None)
    rec["layout"], rec["elements"] = frame_layout(rec), build_elements(rec)
    return rec


def video_ticker(cfg: SynthVideoConfig, assets) -> dict | None:
    """The video's ticker (one for the whole video, from a generator of its own), or None."""
    from subtitle_vlm.synth import PRESETS
    from subtitle_vlm.synth.ticker import STREAM, sample_ticker

    if not cfg.ticker:
        return None
    W, H = cfg.width_height()
    params = dataclasses.replace(PRESETS["tv"], p_ticker=1.0)
    return sample_ticker(np.random.default_rng([cfg.seed, STREAM]), assets, params, W, H)


def tag_timeline(cfg: SynthVideoConfig, assets, spans, records, ticker, distractors, n_frames: int):
    """(first frame, end frame, tag): name tags shown for 3-6 s with gaps of 2-8 s, each clear of the subtitles,
    ticker and distractors on screen while it shows. Drawn from a generator of its own, so the rest of the
    video is the same with or without tags."""
    from subtitle_vlm.synth.tags import STREAM, sample_tag

    if not cfg.tags:
        return []
    W, H = cfg.width_height()
    rng = np.random.default_rng([cfg.seed, STREAM])
    out = []
    f = int(rng.uniform(0.5, 3.0) * cfg.fps)
    while f < n_frames:
        end = min(n_frames, f + int(rng.uniform(3.0, 6.0) * cfg.fps))
        avoid = [tuple(r["subtitle"]["box"]["rect"] if r["subtitle"]["box"] else r["subtitle"]["bbox"])
                 for (a, b), r in zip(spans, records) if a < end and f < b and r["subtitle"]]
        avoid += [tuple(d["box"]["rect"] if d.get("box") else d["bbox"]) for a, b, d in distractors if a < end and f < b]
        if ticker:
            avoid.append(tuple(ticker["band"]))
            if ticker.get("label"):
                avoid.append(tuple(ticker["label"]["rect"]))
        tag = sample_tag(rng, assets, W, H, avoid)
        if tag is not None:
            out.append((f, end, tag))
        f = end + int(rng.uniform(2.0, 8.0) * cfg.fps)
    return out


def distractor_timeline(cfg: SynthVideoConfig, scfg, assets, n_frames: int, rng) -> list[tuple[int, int, dict]]:
    """(first frame, end frame, distractor): a logo throughout, then titles/captions coming and going."""
    from subtitle_vlm.synth import PRESETS
    from subtitle_vlm.synth.distractors import sample_distractors

    if not cfg.distractors:
        return []
    W, H = cfg.width_height()
    protect = (int(0.05 * W), int(0.55 * H), int(0.95 * W), H)
    out = []
    logo = sample_distractors(rng, assets, dataclasses.replace(PRESETS["hard"], p_logo=1.0, p_title=0.0,
                                                               p_caption=0.0), W, H, protect)
    out += [(0, n_frames, d) for d in logo]
    f = int(rng.integers(0, 3 * cfg.fps))
    while f < n_frames:
        kind = dataclasses.replace(PRESETS["hard"], p_logo=0.0, p_title=float(rng.random() < 0.5), p_caption=1.0)
        span = int(rng.uniform(2.0, 6.0) * cfg.fps)
        for d in sample_distractors(rng, assets, kind, W, H, protect):
            out.append((f, min(n_frames, f + span), d))
        f += span + int(rng.uniform(1.0, 5.0) * cfg.fps)
    return out


def _open_writer(path: Path, cfg: SynthVideoConfig):
    import av

    W, H = cfg.width_height()
    container = av.open(str(path), "w")
    stream = container.add_stream(cfg.codec, rate=cfg.fps)
    stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
    if cfg.codec == "libx264":
        stream.options = {"crf": str(cfg.crf), "preset": "veryfast"}
    else:
        stream.options = {"qscale": str(max(1, cfg.crf // 6))}
        stream.codec_context.qscale = max(1, cfg.crf // 6)
    return container, stream


def make_video(cfg: SynthVideoConfig) -> list[Cue]:
    """Render and encode the video, write the gold SRT and cues JSON; returns the gold cues."""
    import av
    from tqdm import tqdm

    from subtitle_vlm.io import atomic_write_text
    from subtitle_vlm.synth import load_assets, render_record
    from subtitle_vlm.synth.backgrounds import builtin_refs
    from subtitle_vlm.synth.ticker import scrolled

    W, H = cfg.width_height()
    rng = np.random.default_rng(cfg.seed)
    n_frames = int(round(cfg.duration * cfg.fps))
    scfg = _synth_config(cfg)
    assets = load_assets(scfg)
    spans = schedule(cfg, rng)
    texts = pick_texts(assets.sentences, len(spans), cfg.repeat, spans, rng)
    # A repeated line keeps its look (one show, one subtitle style per line).
    first = {t: k for k, t in reversed(list(enumerate(texts)))}
    ticker = video_ticker(cfg, assets)
    records = [cue_record(first[t], t, scfg, assets, ticker) for t in texts]
    distractors = distractor_timeline(cfg, scfg, assets, n_frames, rng)
    tags = tag_timeline(cfg, assets, spans, records, ticker, distractors, n_frames)
    bgs = Backgrounds(cfg, shots(cfg, builtin_refs("photos"), n_frames, rng), n_frames)
    noise = [rng.normal(0.0, cfg.noise, (H, W, 1)).astype(np.int16) for _ in range(6)] if cfg.noise > 0 else []
    empty = {"size": [W, H], "subtitle": None, "distractors": [], "degradations": None, "seed": 0}

    out = Path(cfg.out)
    tmp = out.with_name(f".{out.stem}.partial{out.suffix}")
    try:
        container, stream = _open_writer(tmp, cfg)
    except OSError as e:  # FFmpeg's file errors are OSErrors too: the place, not the codec, is at fault
        if isinstance(e, av.error.FFmpegError) and e.errno is None:
            raise InputError(f"cannot encode {cfg.codec} into {out.suffix} here ({e}); try --codec mpeg4") from None
        raise InputError(f"{out}: cannot write it ({e.strerror or e}); choose another --out") from None
    except ValueError as e:
        raise InputError(f"cannot encode {cfg.codec} into {out.suffix} here ({e}); try --codec mpeg4") from None
    cue_at = np.full(n_frames, -1, dtype=np.int32)
    for k, (a, b) in enumerate(spans):
        cue_at[a:b] = k
    try:
        for i in tqdm(range(n_frames), unit="frame", desc="synth-video", disable=not cfg.progress):
            k = int(cue_at[i])
            rec = dict(records[k] if k >= 0 else empty)
            rec["distractors"] = [d for a, b, d in distractors if a <= i < b]
            if ticker:  # the ticker runs on: the same loop of headlines, cfg.ticker px further each frame
                rec["ticker"] = scrolled(ticker, int(round(cfg.ticker * i)))
            rec["tags"] = [t for a, b, t in tags if a <= i < b]
            img = render_record(rec, assets, background=bgs.frame(i))
            arr = np.asarray(img)
            if noise:
                arr = np.clip(arr + noise[int(rng.integers(len(noise)))], 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        container.close()
        try:
            os.replace(tmp, out)
        except OSError as e:
            raise InputError(f"{out}: cannot write it ({e.strerror or e}); move that away or choose another --out") from None
    except BaseException:
        container.close()
        tmp.unlink(missing_ok=True)
        raise
    cues = [Cue(a / cfg.fps, b / cfg.fps, records[k]["text"], {"frames": [a, b], "cue": k})
            for k, (a, b) in enumerate(spans)]
    write_cues(cfg.gold_path, cues, "srt")
    meta = {"video": str(out), "gold": str(cfg.gold_path), "fps": cfg.fps, "frames": n_frames, "size": [W, H], "seed": cfg.seed,
            "distractors": [{"from": a / cfg.fps, "to": b / cfg.fps, "kind": d["kind"], "text": d["text"]}
                            for a, b, d in distractors],
            "ticker": {"px_per_frame": cfg.ticker, "band": ticker["band"], "headlines": ticker["headlines"],
                       "label": (ticker["label"] or {}).get("text")} if ticker else None,
            "tags": [{"from": a / cfg.fps, "to": b / cfg.fps, "lines": t["lines"], "bbox": t["bbox"]}
                     for a, b, t in tags]}
    rich = [Cue(c.start, c.end, c.text, {**c.extra, "record": records[k]}) for k, c in enumerate(cues)]
    atomic_write_text(cfg.cues_json_path, to_json(rich, meta))
    return cues


def main(argv: list[str] | None = None) -> int:
    from subtitle_vlm.config import parse_config

    cfg = parse_config(SynthVideoConfig, argv, prog="subtitle-vlm synth-video", description=__doc__)
    cfg.check_outputs()
    cues = make_video(cfg)
    short = min((c.duration for c in cues), default=0.0)
    print(f"synth-video: wrote {cfg.out} ({cfg.duration:g} s, {cfg.size}, {cfg.fps} fps) with {len(cues)} cues "
          f"(shortest {short:.2f} s); gold cues in {cfg.gold_path} and {cfg.cues_json_path}", file=sys.stderr)
    return 0
