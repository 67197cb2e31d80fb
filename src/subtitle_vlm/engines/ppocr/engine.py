"""PP-OCR reading engine: full-frame detection and recognition with ``rapidocr``, then subtitle selection.

    subtitle-vlm predict --engine ppocr --input frames/ --out pred.csv --workers 2
    subtitle-vlm predict --engine ppocr --input frames/ --out pred.csv \\
        --engine-options '{"selector": "runs/selector", "rec_model": "runs/rec"}'

The PP-OCR models ship inside the rapidocr wheel (run through onnxruntime): nothing is downloaded. Frames
are read whole: the selector places each line in the whole frame. Where the subtitle's rows are known (the
video reader's watched region), ``read_region`` detects in those rows only, at the scale the whole frame
would be detected at (``strip.py``: a strip handed to rapidocr as it is would be padded and enlarged by
its own height, which splits lines and costs time), and selects in the whole frame. The learned
selector (``selector/``, docs/selector.md) chooses the subtitle among the lines found. Options
(``--engine-options`` JSON) are the fields of ``PPOCROptions`` below and of
``select_config.PPOCRSelectConfig``; an unknown key is an error.

Other engines crop to the subtitle this engine finds with ``--crop auto`` (see ``resolve_auto_crop``).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from subtitle_vlm.config import coerce_options
from subtitle_vlm.engines.base import Engine
from subtitle_vlm.io import InputError
from subtitle_vlm.engines.ppocr.colors import measure_box
from subtitle_vlm.engines.ppocr.detection import Detection, Selection, quad_to_rect
from subtitle_vlm.engines.ppocr.end_mark import FULLWIDTH_END, end_mark, read_rect
from subtitle_vlm.engines.ppocr.select_config import PPOCRSelectConfig
from subtitle_vlm.engines.ppocr.strip import strip_limit, strip_rows
from subtitle_vlm.engines.ppocr.text import is_cjk

log = logging.getLogger(__name__)


@dataclass
class PPOCROptions:
    threads: int = field(default=0, metadata={
        "help": "onnxruntime threads per process; 0 = the CPU count divided by the worker processes"})
    use_cls: bool = field(default=False, metadata={
        "help": "run PP-OCR's text-direction classifier (subtitles are upright; off saves time)"})
    det_limit_side_len: int = field(default=736, metadata={
        "help": "the detector resizes the frame's shorter side to this many pixels"})
    box_thresh: float = field(default=0.5, metadata={"help": "detector box confidence threshold"})
    text_score: float = field(default=0.5, metadata={"help": "rapidocr drops readings below this confidence"})
    rec_model: str = field(default="", metadata={
        "help": "a fine-tuned recogniser: a subtitle-vlm train-rec run folder or its rec.onnx; empty = stock"})

    def validate(self) -> None:
        if self.threads < 0:
            raise ValueError("threads: need 0 (automatic) or more")
        if self.det_limit_side_len < 32:
            raise ValueError("det_limit_side_len: need at least 32 pixels")
        if self.rec_model:
            from subtitle_vlm.engines.ppocr.rec.load import resolve_rec_model

            resolve_rec_model(self.rec_model)


def parse_engine_options(options: dict | None, workers: int = 1) -> tuple[PPOCROptions, PPOCRSelectConfig]:
    """Both option sets from one ``--engine-options`` mapping; bad or unknown keys raise InputError naming them."""
    options = dict(options or {})
    # The config files' coercer: the same true/false words and errors as every other option.
    ocr_vals, rest = coerce_options(PPOCROptions, options, "--engine-options")
    sel_vals, rest = coerce_options(PPOCRSelectConfig, rest, "--engine-options")
    if rest:
        valid = sorted(f.name for f in fields(PPOCROptions)) + sorted(f.name for f in fields(PPOCRSelectConfig))
        raise InputError(f"--engine-options: unknown key(s) {', '.join(sorted(rest))} for the ppocr engine; "
                         f"valid keys: {', '.join(valid)}")
    ocr, sel = PPOCROptions(**ocr_vals), PPOCRSelectConfig(**sel_vals)
    for part in (ocr, sel):
        try:
            part.validate()
        except ValueError as e:
            raise InputError(f"--engine-options: {e}") from None
    if ocr.threads == 0:
        ocr.threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    return ocr, sel


def _workers_of(cfg) -> int:
    """How many processes share this machine: shard processes see --workers 1 and --shard i/n."""
    shard = getattr(cfg, "shard", None)
    if shard:
        return int(str(shard).split("/")[1])
    return max(int(getattr(cfg, "workers", 1) or 1), int(getattr(cfg, "data_parallel", 0) or 0), 1)


def _new_rapidocr(ocr: PPOCROptions, det_limit_side_len: int | None = None):
    try:
        from rapidocr import RapidOCR
    except ImportError as e:
        raise ImportError("the ppocr engine needs rapidocr and onnxruntime: pip install 'subtitle-vlm[ppocr]' "
                          f"({e})") from None
    params = {
        "Global.log_level": "warning",
        "Global.use_cls": ocr.use_cls,
        "Global.text_score": ocr.text_score,
        "Det.limit_side_len": det_limit_side_len or ocr.det_limit_side_len,
        "Det.box_thresh": ocr.box_thresh,
        "EngineConfig.onnxruntime.intra_op_num_threads": ocr.threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }
    if ocr.rec_model:
        from subtitle_vlm.engines.ppocr.rec.load import resolve_rec_model

        try:
            model_path, keys_path = resolve_rec_model(ocr.rec_model)
        except ValueError as e:
            raise InputError(f"--engine-options: {e}") from None
        params["Rec.model_path"] = model_path
        if keys_path:
            params["Rec.rec_keys_path"] = keys_path
        try:
            engine = RapidOCR(params=params)
            # rapidocr loads the recogniser on first use; load it now so a bad file fails here, named.
            getattr(engine, "_load_rec_model", lambda: None)()
            return engine
        except Exception as e:  # onnxruntime raises its own types for a file that is not a model
            raise InputError(f"--engine-options: rec_model {model_path}: rapidocr cannot load it "
                             f"({type(e).__name__}: {str(e).strip()[:300]}); re-export it with subtitle-vlm train-rec") \
                from None
    return RapidOCR(params=params)


def detect(ocr_engine, image, use_cls: bool = False,
           rows: tuple[int, int] | None = None) -> tuple[list[Detection], int, int]:
    """Every text line in a PIL image (or RGB array), with colours measured: (detections, width, height).
    With ``rows`` (y0, y1) only those rows are searched; boxes are still in the whole image's pixels."""
    rgb = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image)[:, :, :3]
    h, w = rgb.shape[:2]
    top, bottom = (0, h) if rows is None else rows
    # rapidocr takes arrays as BGR (OpenCV order).
    out = ocr_engine(np.ascontiguousarray(rgb[top:bottom, :, ::-1]), use_det=True, use_cls=use_cls, use_rec=True)
    boxes = getattr(out, "boxes", None)
    txts = getattr(out, "txts", None)
    if boxes is None or txts is None or len(txts) == 0:
        return [], w, h
    dets = []
    for quad, text, score in zip(boxes, txts, out.scores):
        x0, y0, x1, y1 = quad_to_rect(quad)
        rect = (x0, y0 + top, x1, y1 + top)
        dets.append(Detection(rect, str(text), float(score), measure_box(rgb, rect)))
    return dets, w, h


def learned_selector(cfg: PPOCRSelectConfig):
    """The learned selector ``cfg.selector`` names, with the output conventions of ``cfg``."""
    from subtitle_vlm.engines.ppocr.selector import get_selector

    return get_selector(cfg.selector, max_lines=cfg.max_lines, line_join=cfg.line_join,
                        to_traditional=cfg.to_traditional, fullwidth_punct=cfg.fullwidth_punct)


def choose(dets: list[Detection], rgb: np.ndarray, cfg: PPOCRSelectConfig) -> Selection:
    """The subtitle among ``dets`` of this RGB frame, by the selector ``cfg`` names."""
    return learned_selector(cfg).select(dets, rgb)


class PPOCREngine(Engine):
    name = "ppocr"
    batch_size = 4
    reads_whole_frame = True  # the selector places the subtitle in the whole frame; callers never crop for it

    def __init__(self, options: PPOCROptions | None = None, select: PPOCRSelectConfig | None = None):
        self.options = options or PPOCROptions(threads=max(1, os.cpu_count() or 1))
        self.select_cfg = select or PPOCRSelectConfig()
        learned_selector(self.select_cfg)  # a bad model path fails here, before any frame is read
        self._ocr = _new_rapidocr(self.options)
        self._strip_ocr: dict[int, object] = {}  # det_limit_side_len -> rapidocr for strips (engines/ppocr/strip.py)

    @classmethod
    def from_config(cls, cfg) -> "PPOCREngine":
        ocr, sel = parse_engine_options(getattr(cfg, "engine_options", None), _workers_of(cfg))
        return cls(ocr, sel)

    def select(self, image, rows: tuple[int, int] | None = None) -> Selection:
        """Detect, recognise and choose: the full Selection (text, box, lines, rejections) for one image.
        With ``rows`` (y0, y1) only those rows (grown as ``strip.strip_rows`` says) are searched, at the
        whole image's detection scale."""
        rgb = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image)[:, :, :3]
        h, w = rgb.shape[:2]
        limit = self.options.det_limit_side_len
        strip = strip_rows(rows, h, w, limit) if rows is not None else None
        if strip is None:
            dets, _, _ = detect(self._ocr, rgb, self.options.use_cls)
        else:
            dets, _, _ = detect(self._ocr_for_strip(strip_limit(strip[1] - strip[0], h, w, limit)), rgb,
                                self.options.use_cls, strip)
        sel = choose(dets, rgb, self.select_cfg)
        if self.select_cfg.read_end_mark:
            mark = end_mark(sel, rgb, lambda rect: read_rect(self._ocr, rgb, rect))
            if mark and self.select_cfg.fullwidth_punct and is_cjk(sel.text[-1]):
                mark = FULLWIDTH_END.get(mark, mark)
            sel.text += mark
        return sel

    def read(self, images: list) -> list[str]:
        return [self.select(im).text for im in images]

    def read_region(self, images: list, box) -> list[str]:
        """Read whole frames, searching only the rows of ``box`` (x0, y0, x1, y1 pixels) and a margin
        (``region_rows``)."""
        return [self.select(im, region_rows(box, im.height)).text for im in images]

    def search_rows(self, box, width: int, height: int) -> tuple[int, int] | None:
        """The rows ``read_region`` searches in a ``width`` x ``height`` frame (None: all of them)."""
        return strip_rows(region_rows(box, height), height, width, self.options.det_limit_side_len)

    def _ocr_for_strip(self, key: int):
        """A rapidocr whose detector limit is ``key`` (``strip.strip_limit``)."""
        if key == self.options.det_limit_side_len:
            return self._ocr
        if key not in self._strip_ocr:
            if len(self._strip_ocr) >= 2:  # a video has one region; keep memory bounded for callers that vary it
                self._strip_ocr.pop(next(iter(self._strip_ocr)))
            self._strip_ocr[key] = _new_rapidocr(self.options, det_limit_side_len=key)
        return self._strip_ocr[key]

    def subtitle_box(self, image) -> tuple[int, int, int, int] | None:
        return self.select(image).box

    def describe(self) -> dict:
        return {"engine": self.name, "ocr": asdict(self.options), "select": asdict(self.select_cfg)}


# How far above a subtitle region read_region searches, in heights of the region. A video's region is the
# rows of the subtitles seen on a few frames padded by half a line (video.region), so a region seen with
# one-line subtitles is two lines tall: 0.6 of it above reaches a second line stacked on top (1.3 lines up)
# with room to spare. Nothing is searched below: the region already ends half a line under the subtitles,
# or where a ticker starts, and reading on would only read the ticker (a long line, the costliest to
# recognise).
REGION_ABOVE = 0.6


def region_rows(box, height: int) -> tuple[int, int]:
    """The rows ``read_region`` searches for a subtitle region ``box``, within the frame."""
    y0, y1 = int(box[1]), int(box[3])
    return max(0, int(y0 - REGION_ABOVE * max(1, y1 - y0))), min(int(height), y1)


# ---------------------------------------------------------------- the subtitle box for other engines
_shared: PPOCREngine | None = None
_shared_lock = threading.Lock()


def _shared_engine() -> PPOCREngine:
    """One engine per process for ``--crop auto`` (loading the ONNX sessions takes about a second)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = PPOCREngine(PPOCROptions(threads=max(1, os.cpu_count() or 1)))
        return _shared


def subtitle_box(image) -> tuple[int, int, int, int] | None:
    """The subtitle's box (x0, y0, x1, y1 pixels) in a PIL image, or None when it has no subtitle."""
    return _shared_engine().subtitle_box(image)


# Margins around the found box, as fractions of its height: a crop cut tight to the letters would lose
# the outline, and a model trained on crops should see the same margins (use pad_box on recorded boxes).
AUTO_CROP_PAD_Y = 0.25
AUTO_CROP_PAD_X = 0.5
# Without a subtitle there is no box: show the band where subtitles sit, so a model can answer "".
AUTO_CROP_FALLBACK = "bottom=0.33"


def pad_box(box, width: int, height: int) -> tuple[int, int, int, int]:
    """``box`` grown by the auto-crop margins and clipped to the frame."""
    x0, y0, x1, y1 = box
    h = max(1.0, y1 - y0)
    return (max(0, int(x0 - AUTO_CROP_PAD_X * h)), max(0, int(y0 - AUTO_CROP_PAD_Y * h)),
            min(width, int(round(x1 + AUTO_CROP_PAD_X * h))), min(height, int(round(y1 + AUTO_CROP_PAD_Y * h))))


def resolve_auto_crop(image, fallback: str = AUTO_CROP_FALLBACK):
    """``--crop auto`` for any engine: the image cropped to the padded subtitle box, or ``fallback`` when
    PP-OCR finds no subtitle."""
    from subtitle_vlm.crop import crop_image

    box = subtitle_box(image)
    if box is None:
        return crop_image(image, fallback)
    return image.crop(pad_box(box, *image.size))


__all__ = ["PPOCREngine", "PPOCROptions", "choose", "detect", "pad_box", "parse_engine_options", "region_rows",
           "resolve_auto_crop", "subtitle_box"]
