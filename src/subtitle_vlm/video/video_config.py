"""Options of ``subtitle-vlm video`` (see video_cli)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from subtitle_vlm.crop import parse_crop
from subtitle_vlm.io import InputError


@dataclass
class VideoConfig:
    input: str = field(default="", metadata={"help": "video file (anything FFmpeg decodes)", "positional": True})
    out: str = field(default="", metadata={"help": "subtitle file to write (.srt, .vtt or .json)"})
    format: Literal["auto", "srt", "vtt", "json"] = field(default="auto", metadata={
        "help": "output format; auto = from --out's suffix (SRT when it has none)"})
    # ---- reading engine (the same options as predict)
    engine: str = field(default="ppocr", metadata={"help": "reading engine: ppocr | hf | minicpmv | tinyllava"})
    model: str | None = field(default=None, metadata={"help": "model or adapter directory / hub id (hf, minicpmv, tinyllava)"})
    adapter: str | None = field(default=None, metadata={"help": "LoRA adapter on top of --model (hf)"})
    device: str = field(default="auto", metadata={"help": "auto | cpu | cuda | cuda:N"})
    dtype: str = field(default="auto", metadata={"help": "auto | bfloat16 | float16 | float32"})
    prompt: str | None = field(default=None, metadata={"help": "override the prompt saved in the run config"})
    max_new_tokens: int = field(default=64, metadata={"help": "longest reading to generate (VLM engines)"})
    trust_remote_code: bool = field(default=False, metadata={"help": "allow model repositories' own code"})
    engine_options: dict = field(default_factory=dict, metadata={"help": "engine-specific options as JSON"})
    batch_size: int = field(default=0, metadata={"help": "frames per engine call; 0 = the engine's own default"})
    background_reads: bool = field(default=True, metadata={
        "help": "read on a worker thread while decoding goes on (false: decode, then read, in turn)"})
    read_crop: str | None = field(default=None, metadata={
        "help": "crop the reader sees (as predict --crop); default: the model's run config's, and for PP-OCR "
                "the watched region's rows searched with the whole frame as context; 'band' = the watched "
                "region of --crop; none = whole frames"})
    # ---- where subtitles are, and when the reader runs
    crop: str = field(default="auto", metadata={
        "help": "the region watched for changes: auto (the PP-OCR selector finds the subtitle on a few frames "
                "and leaves out text it turns down, such as a news ticker or name tags; bottom=0.33 when it "
                "finds none) | bottom=F | box=x0,y0,x1,y1 | none"})
    fps: float = field(default=4.0, metadata={
        "help": "frames sampled per second; a sample is read only when its band changed (0 = every frame)"})
    detect_changes: bool = field(default=True, metadata={
        "help": "read a sample only when the band changed since the last read (false: read every sample)"})
    refine: bool = field(default=True, metadata={
        "help": "place each boundary on the exact frame the band changes (false: on the sample)"})
    change_threshold: float = field(default=0.15, metadata={
        "help": "band difference (0-1) that counts as a change of subtitle"})
    skip_empty: bool = field(default=True, metadata={
        "help": "a band with no text-like pixels is a gap without asking the reader"})
    luma_min: int = field(default=170, metadata={"help": "a subtitle pixel is at least this bright (0-255)"})
    edge_min: int = field(default=60, metadata={"help": "... and sits on a luma step at least this large"})
    retries: int = field(default=2, metadata={
        "help": "when the band looks like text but the reader saw none, read up to this many later frames "
                "of the same stretch (a detector can miss text over a busy background)"})
    retry_mass: float = field(default=0.006, metadata={
        "help": "share of band pixels that look like text above which an empty reading is retried"})
    reread_every: float = field(default=0.0, metadata={
        "help": "also read an unchanged band after this many seconds, to catch changes the band test "
                "misses (0 = never)"})
    # ---- cue building
    similarity: float = field(default=0.8, metadata={
        "help": "consecutive readings at least this similar (0-1, rapidfuzz ratio) form one cue"})
    min_duration: float = field(default=0.2, metadata={"help": "drop cues shorter than this (seconds)"})
    merge_gap: float = field(default=0.1, metadata={
        "help": "join two similar cues separated by a gap shorter than this (seconds)"})
    # ---- outputs, resume
    frames_out: str | None = field(default=None, metadata={
        "help": "also write one frame per cue plus metadata.jsonl and readings.csv here (a frame set)"})
    cache: str | None = field(default=None, metadata={
        "help": "per-frame readings cache (JSONL) an interrupted run resumes from; default OUT.cache.jsonl"})
    keep_cache: bool = field(default=False, metadata={"help": "keep the cache after a successful run"})
    overwrite: bool = field(default=False, metadata={
        "help": "replace a file at --out that is not a subtitle file of its format (by default refused)"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar with the real-time factor"})
    seed: int = field(default=0, metadata={"help": "seed passed to the engine"})

    def validate(self) -> None:
        if not self.input:
            raise InputError("pass the video to read: subtitle-vlm video INPUT --out subs.srt")
        if not self.out:
            raise InputError("--out is required: the .srt, .vtt or .json file to write")
        if self.fps < 0:
            raise InputError("--fps must be 0 (every frame) or more")
        if not 0.0 < self.change_threshold < 1.0:
            raise InputError("--change-threshold must be between 0 and 1")
        if not 0.0 <= self.similarity <= 1.0:
            raise InputError("--similarity must be between 0 and 1")
        if self.min_duration < 0 or self.merge_gap < 0 or self.reread_every < 0:
            raise InputError("--min-duration, --merge-gap and --reread-every must be >= 0")
        if self.batch_size < 0 or self.retries < 0:
            raise InputError("--batch-size and --retries must be >= 0")
        for name, spec in (("--crop", self.crop), ("--read-crop", self.read_crop)):
            if spec in (None, "band") and name == "--read-crop":
                continue
            try:
                parse_crop(spec)
            except ValueError as e:
                raise InputError(f"{name}: {e}") from None

    @property
    def cache_path(self) -> str:
        return self.cache or f"{self.out}.cache.jsonl"

    @property
    def output_format(self) -> str:
        from subtitle_vlm.video.srt import format_for

        return format_for(self.out, None if self.format == "auto" else self.format)

    def check_outputs(self) -> None:
        """Refuse, before any work: --out (or --cache) that is the video itself, an --out suffix that is not
        its format's (``clip.mp4`` would get an SRT under a video's name), and replacing a file at --out
        that is not a subtitle file of that format, unless --overwrite."""
        from subtitle_vlm.io import check_output
        from subtitle_vlm.video.srt import check_cue_output

        check_cue_output(self.out, self.output_format, flag="--out", command="video",
                         inputs=[("video", self.input)], outputs=[("--cache", self.cache_path)],
                         overwrite=self.overwrite)
        check_output(self.cache_path, flag="--cache", command="video", inputs=[("video", self.input)],
                     overwrite=True)


def naive(cfg: VideoConfig) -> VideoConfig:
    """The naive way, for comparison: read every sample, merge identical strings only, sample-time bounds."""
    from dataclasses import replace

    return replace(cfg, detect_changes=False, refine=False, skip_empty=False, similarity=1.0, merge_gap=0.0,
                   min_duration=0.0, retries=0)
