"""Options of ``subtitle-vlm predict`` (shared by every engine; each reads the fields it needs)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PredictConfig:
    input: str = field(default="", metadata={"help": "frame set or folder of images (recursive)"})
    out: str = field(default="pred.csv", metadata={"help": "output Kaggle CSV (id,text)"})
    engine: str = field(default="hf", metadata={"help": "hf | ppocr | minicpmv | tinyllava"})
    model: str | None = field(default=None, metadata={
        "help": "model: merged or base directory / hub id, or an adapter directory (hf); model path (minicpmv, tinyllava)"})
    adapter: str | None = field(default=None, metadata={"help": "LoRA adapter to apply on top of --model"})
    batch_size: int = field(default=8, metadata={"help": "frames per engine call"})
    workers: int = field(default=1, metadata={
        "help": "worker processes, each reading a shard (CPU engines; for GPUs see --data-parallel)"})
    data_parallel: int = field(default=0, metadata={
        "help": "one process per GPU, each with its own copy of the model; 0 = off"})
    device: str = field(default="auto", metadata={"help": "auto | cpu | cuda | cuda:N"})
    device_map: str | None = field(default=None, metadata={
        "help": "'auto' splits a model too large for one GPU across GPUs (and CPU with --max-memory)"})
    max_memory: str | None = field(default=None, metadata={
        "help": "per-device caps for --device-map, e.g. '0=20GiB,1=20GiB,cpu=64GiB'"})
    dtype: str = field(default="auto", metadata={"help": "auto | bfloat16 | float16 | float32"})
    max_new_tokens: int = field(default=64, metadata={"help": "longest reading to generate"})
    prompt: str | None = field(default=None, metadata={"help": "override the prompt saved in the run config"})
    crop: str | None = field(default=None, metadata={
        "help": "override the crop saved in the run config: none | auto | bottom=F | box=x0,y0,x1,y1"})
    limit: int = field(default=0, metadata={"help": "read only the first N frames (0 = all)"})
    shard: str | None = field(default=None, metadata={"help": "internal: 'i/n' to read every n-th frame from i"})
    trust_remote_code: bool = field(default=False, metadata={"help": "allow model repositories' own code"})
    engine_options: dict = field(default_factory=dict, metadata={
        "help": "engine-specific options as JSON, e.g. '{\"det_limit\": 960}'"})
    seed: int = field(default=0, metadata={"help": "seed (decoding is greedy; this fixes anything random)"})
    overwrite: bool = field(default=False, metadata={
        "help": "read every frame afresh, replacing an --out (and its journals) made by another input or "
                "other settings, or not by predict at all; without it such an --out is refused"})

    def validate(self) -> None:
        if not self.input:
            raise ValueError("--input is required: a frame set or a folder of images")
        if self.batch_size < 1:
            raise ValueError("--batch-size must be >= 1")
        if self.workers < 1:
            raise ValueError("--workers must be >= 1")
