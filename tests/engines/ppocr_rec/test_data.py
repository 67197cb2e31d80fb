"""Crops and labels from frame records: boxes, sizes, labels in the dictionary, characters it lacks reported."""

import json

import numpy as np
import pytest

from subtitle_vlm.engines.ppocr.rec.charset import Charset, LabelReport, read_keys, write_keys
from subtitle_vlm.engines.ppocr.rec.crops import (DETECTOR_MARGINS, REC_HEIGHT, batch_images, detector_box,
                                                  line_boxes, text_inside, char_spans)
from subtitle_vlm.engines.ppocr.rec.dataset import CropRecipe, build_crops, collate
from subtitle_vlm.io import InputError, read_jsonl

from .conftest import LINES, draw_frame_set


def _charset(base):
    return Charset(base[1].characters)


def test_line_boxes_hold_the_drawn_ink(frame_set):
    from PIL import Image

    rec = read_jsonl(frame_set / "metadata.jsonl")[3]
    boxes = line_boxes(rec)
    assert [t for t, _ in boxes] == ["這是第一行，", "這是第二行。"]
    img = np.asarray(Image.open(frame_set / rec["file_name"]).convert("L")).astype(int)
    for _, (x0, y0, x1, y1) in boxes:
        inside = img[y0:y1, x0:x1]
        assert (inside > 240).sum() > 100                     # the white fill is inside the box
        ring = np.concatenate([img[y0:y1, max(0, x0 - 6):x0].ravel(), img[y0:y1, x1:x1 + 6].ravel()])
        assert (ring > 240).sum() < 5                         # and none of it left outside
    assert boxes[0][1][3] <= boxes[1][1][1]                   # top line first


def test_detector_box_margins():
    ink = (100, 200, 400, 250)
    box = detector_box(ink, 1280, 720)
    h = 50
    assert box[0] == int(np.floor(100 - DETECTOR_MARGINS["left"][0] * h))
    assert box[3] == int(np.ceil(250 + DETECTOR_MARGINS["bottom"][0] * h))
    rng = np.random.default_rng(0)
    boxes = {detector_box(ink, 1280, 720, rng) for _ in range(20)}
    assert len(boxes) > 10                                    # jittered
    assert all(b[0] >= 0 and b[2] <= 1280 for b in boxes)
    assert detector_box((2, 2, 38, 28), 40, 30) == (0, 0, 40, 30)   # clipped to the frame


def test_crops_and_labels(frame_set, base):
    charset = _charset(base)
    report = LabelReport()
    crops = build_crops([frame_set], charset, CropRecipe(typical=True, jitter=2), seed=0, report=report)
    n_lines = sum(len(b) for b in LINES)
    assert len(crops) == 3 * n_lines
    assert report.lines_total == n_lines and report.lines_with_missing == 0
    assert all(c.image.shape[0] == REC_HEIGHT and c.image.dtype == np.uint8 for c in crops)
    assert all(charset.text_of(c.label) == c.text for c in crops)
    assert charset.decode(crops[0].label) == "今天氣很好。"          # CTC merges a repeat without a blank
    # The same seed gives the same crops; another seed other jitter.
    again = build_crops([frame_set], charset, CropRecipe(typical=True, jitter=2), seed=0)
    other = build_crops([frame_set], charset, CropRecipe(typical=True, jitter=2), seed=1)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(crops, again))
    assert any(a.image.shape != b.image.shape or not np.array_equal(a.image, b.image) for a, b in zip(crops, other))


def test_characters_outside_the_dictionary_are_reported(tmp_path, base):
    charset = _charset(base)
    folder = draw_frame_set(tmp_path / "odd", [["今天\ue000很好。"], ["我們明天見。"]])
    report = LabelReport()
    crops = build_crops([folder], charset, CropRecipe(typical=True, jitter=0), seed=0, report=report)
    assert report.lines_with_missing == 1 and report.missing["\ue000"] == 1
    assert report.examples[0]["where"].endswith("frame_000001.png line 1")
    assert [c.text for c in crops] == ["我們明天見。"]              # left out, not silently mangled
    kept = build_crops([folder], charset, CropRecipe(typical=True, jitter=0, keep_missing=True), seed=0)
    assert [charset.text_of(c.label) for c in kept] == ["今天很好。", "我們明天見。"]


def test_not_a_frame_set_is_named(tmp_path, base):
    with pytest.raises(InputError, match="no metadata.jsonl"):
        build_crops([tmp_path], _charset(base), CropRecipe(), seed=0)


def test_batches_match_rapidocr_preprocessing(frame_set, base):
    """Our normalisation and padding give the recogniser what rapidocr gives it for one crop."""
    import cv2
    from rapidocr.ch_ppocr_rec.main import TextRecognizer

    crops = build_crops([frame_set], _charset(base), CropRecipe(typical=True, jitter=0), seed=0)
    img = crops[0].image
    ours = batch_images([img])[0]
    theirs = TextRecognizer.resize_norm_img(type("R", (), {"rec_image_shape": [3, 48, 320]})(), img,
                                            max(320 / 48, img.shape[1] / 48))
    assert ours.shape == theirs.shape and np.allclose(ours, theirs)
    batch = collate([{"image": c.image, "label": c.label} for c in crops[:3]])
    assert batch["pixel_values"].shape[-1] == max(320, max(c.image.shape[1] for c in crops[:3]))
    assert batch["labels"].shape[0] == 3 and int(batch["label_lengths"][0]) == len(crops[0].label)
    assert cv2


def test_text_inside_a_detector_box(frame_set):
    rec = read_jsonl(frame_set / "metadata.jsonl")[0]
    spans = char_spans(rec, 0)
    text = rec["subtitle"]["lines"][0]
    assert text_inside(text, spans, spans[0][0] - 5, spans[-1][1] + 5) == text
    assert text_inside(text, spans, spans[0][0] - 5, spans[-2][1] + 2) == text[:-1]   # a final mark left out


def test_keys_file_round_trip(tmp_path, base):
    chars = base[1].characters
    write_keys(tmp_path / "k.txt", chars)
    assert read_keys(tmp_path / "k.txt") == chars
    assert json  # noqa


def test_crops_from_ppocr_detections(frame_set, base, tmp_path, monkeypatch):
    """--det-crops: the detector's own boxes matched to record lines, labelled with what they hold; the
    detections are cached, so a second build does not detect again."""
    charset = _charset(base)
    recipe = CropRecipe(typical=False, jitter=0, det_crops=True)
    crops = build_crops([frame_set], charset, recipe, seed=0, cache_dir=tmp_path)
    cache = tmp_path / f"det_{frame_set.name}.jsonl"
    assert cache.is_file() and len(cache.read_text(encoding="utf-8").splitlines()) == len(LINES)
    assert len(crops) >= 3 and all(c.where.endswith("(det)") for c in crops)
    lines = {t for block in LINES for t in block}
    assert all(any(t.startswith(c.text) for t in lines) for c in crops)   # a line, or it without its last mark
    import subtitle_vlm.engines.ppocr.engine as engine

    def no_detector(*a, **k):
        raise AssertionError("detected again despite the cache")

    monkeypatch.setattr(engine, "_new_rapidocr", no_detector)
    again = build_crops([frame_set], charset, recipe, seed=0, cache_dir=tmp_path)
    assert [c.text for c in again] == [c.text for c in crops]
