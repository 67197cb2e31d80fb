"""Training and evaluation samples from frame sets: line crops with labels in the recogniser's dictionary.

For each subtitle line of each frame record: ``typical`` (the ink box grown by the detector's typical
margins), ``jitter`` random detector-like boxes around it, and with ``det_crops`` the box PP-OCR's own
detector drew around the line (matched by IoU; its label is the characters whose advance lies inside the
box, since the detector often leaves a final mark out). Lines with characters the dictionary lacks are
counted in the ``LabelReport`` and left out (``keep_missing`` keeps them with those characters removed).
"""

from __future__ import annotations

import json
import os
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from subtitle_vlm.engines.ppocr.rec.charset import Charset, LabelReport
from subtitle_vlm.engines.ppocr.rec.crops import (LineCrop, batch_images, char_spans, detector_box, line_boxes,
                                                  match_detections, resize_height, text_inside)
from subtitle_vlm.io import InputError, atomic_write_text, read_frame_set

log = logging.getLogger(__name__)


@dataclass
class CropRecipe:
    typical: bool = True
    jitter: int = 2
    spread: float = 1.0
    det_crops: bool = False
    keep_missing: bool = False
    max_width: int = 1600

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _load_bgr(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.ascontiguousarray(np.asarray(im.convert("RGB"))[:, :, ::-1])
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read the frame ({e}); re-render the frame set "
                         "(rerun the same synth command)") from None


def _detections(folder: Path, frames, cache_dir: Path | None, progress: bool) -> dict[str, list]:
    """PP-OCR's detector boxes per frame (rects), cached in ``cache_dir`` as JSON lines."""
    cache = (cache_dir / f"det_{folder.name}.jsonl") if cache_dir else None
    known: dict[str, list] = {}
    if cache and cache.is_file():
        for line in cache.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
                known[row["file"]] = row["rects"]
            except (json.JSONDecodeError, KeyError):
                continue  # a line cut by an interruption: that frame is detected again
    todo = [fr for fr in frames if fr.path.name not in known and fr.record and fr.record.get("subtitle")]
    if todo:
        from subtitle_vlm.engines.ppocr.engine import PPOCROptions, _new_rapidocr
        from subtitle_vlm.engines.ppocr.detection import quad_to_rect

        ocr = _new_rapidocr(PPOCROptions(threads=max(1, os.cpu_count() or 1)))
        it = todo
        if progress:
            from tqdm import tqdm

            it = tqdm(todo, desc=f"detect {folder.name}", unit="frame")
        new = []
        for fr in it:
            out = ocr(_load_bgr(fr.path), use_det=True, use_cls=False, use_rec=False)
            boxes = getattr(out, "boxes", None)
            rects = [list(map(float, quad_to_rect(q))) for q in boxes] if boxes is not None else []
            known[fr.path.name] = rects
            new.append(json.dumps({"file": fr.path.name, "rects": rects}))
        if cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
            old = cache.read_text(encoding="utf-8") if cache.is_file() else ""
            atomic_write_text(cache, old + "".join(r + "\n" for r in new))
    return known


def build_crops(folders: list[str | Path], charset: Charset, recipe: CropRecipe, seed: int,
                report: LabelReport | None = None, cache_dir: Path | None = None,
                progress: bool = False) -> list[LineCrop]:
    """Every crop of every subtitle line in ``folders`` (frame sets with metadata.jsonl)."""
    report = report if report is not None else LabelReport()
    crops: list[LineCrop] = []
    for fi, folder in enumerate(folders):
        folder = Path(folder)
        if not (folder / "metadata.jsonl").is_file():
            raise InputError(f"{folder}: no metadata.jsonl; train-rec needs synthesised frame sets "
                             "(subtitle-vlm synth --out DIR) whose records say where each line is")
        frames = read_frame_set(folder)
        dets = _detections(folder, frames, cache_dir, progress) if recipe.det_crops else {}
        it = frames
        if progress:
            from tqdm import tqdm

            it = tqdm(frames, desc=f"crops {folder.name}", unit="frame")
        for fr in it:
            rec = fr.record or {}
            lines = line_boxes(rec)
            if not lines:
                continue
            bgr = _load_bgr(fr.path)
            H, W = bgr.shape[:2]
            rng = np.random.default_rng([seed, fi, int(rec.get("index", 0))])
            for li, (text, ink) in enumerate(lines):
                where = f"{folder.name}/{fr.path.name} line {li + 1}"
                ids, missing = charset.encode(text)
                report.add(where, text, missing)
                if missing and not recipe.keep_missing:
                    continue
                boxes = []
                if recipe.typical:
                    boxes.append(("typical", text, detector_box(ink, W, H)))
                for _ in range(recipe.jitter):
                    boxes.append(("jitter", text, detector_box(ink, W, H, rng, spread=recipe.spread)))
                if recipe.det_crops and fr.path.name in dets:
                    for _, rect in match_detections([(text, ink)], dets[fr.path.name]):
                        inside = text_inside(text, char_spans(rec, li), rect[0], rect[2])
                        if inside:
                            boxes.append(("det", inside, rect))
                for kind, label_text, (x0, y0, x1, y1) in boxes:
                    lab, _ = charset.encode(label_text)
                    if not lab or x1 - x0 < 4 or y1 - y0 < 4:
                        continue
                    img = resize_height(bgr[y0:y1, x0:x1], recipe.max_width)
                    crops.append(LineCrop(img, label_text, lab, f"{where} ({kind})"))
    return crops


class SampleDataset:
    """A torch-style dataset over samples (dicts with ``image`` or ``features``, and ``label``)."""

    def __init__(self, samples: list[dict]):
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict:
        return self.samples[i]


def image_samples(crops: list[LineCrop]) -> list[dict]:
    return [{"image": c.image, "label": c.label} for c in crops]


def feature_samples(model, crops: list[LineCrop], batch_size: int = 16, progress: bool = False) -> list[dict]:
    """Backbone features of each crop, computed once (the backbone does not train): each crop padded as
    rapidocr pads it alone (to width max(320, w)), kept as float16 384 x T."""
    import torch

    from subtitle_vlm.engines.ppocr.rec.crops import MIN_BATCH_WIDTH

    order = sorted(range(len(crops)), key=lambda i: crops[i].image.shape[1])
    out: list[dict | None] = [None] * len(crops)
    was = model.training
    model.eval()
    it = range(0, len(order), batch_size)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc="backbone features", unit="batch")
    try:
        with torch.no_grad():
            for start in it:
                idx = order[start:start + batch_size]
                x = torch.from_numpy(batch_images([crops[i].image for i in idx]))
                feats = model.backbone(x)[:, :, 0, :]
                scale = x.shape[-1] / feats.shape[-1]
                for j, i in enumerate(idx):
                    t = int(round(max(MIN_BATCH_WIDTH, crops[i].image.shape[1]) / scale))
                    out[i] = {"features": feats[j, :, :t].to(torch.float16).clone(), "label": crops[i].label}
    finally:
        model.train(was)
    return out  # type: ignore[return-value]


def padding_features(model):
    """The backbone's output for a column of zero padding (what a crop padded wider sees to its right)."""
    import torch

    was = model.training
    model.eval()
    with torch.no_grad():
        f = model.backbone(torch.zeros(1, 3, 48, 320))[0, :, 0]
    model.train(was)
    return f[:, f.shape[1] // 2].clone()


def collate(batch: list[dict], pad_column=None) -> dict:
    """Pad images (zeros, right, width >= 320) or backbone features (with ``pad_column``), and labels."""
    import torch

    lengths = torch.tensor([len(b["label"]) for b in batch], dtype=torch.long)
    labels = torch.zeros((len(batch), max(1, int(lengths.max()))), dtype=torch.long)
    for i, b in enumerate(batch):
        labels[i, : len(b["label"])] = torch.tensor(b["label"], dtype=torch.long)
    out = {"labels": labels, "label_lengths": lengths}
    if "features" in batch[0]:
        t = max(b["features"].shape[1] for b in batch)
        c = batch[0]["features"].shape[0]
        col = pad_column if pad_column is not None else torch.zeros(c)
        feats = col.to(torch.float32).view(1, c, 1).repeat(len(batch), 1, t)
        for i, b in enumerate(batch):
            feats[i, :, : b["features"].shape[1]] = b["features"].to(torch.float32)
        out["features"] = feats.unsqueeze(2)
    else:
        out["pixel_values"] = torch.from_numpy(batch_images([b["image"] for b in batch]))
    return out
