"""The PP-OCR engine on frames drawn here: options, reading, the subtitle box, --crop auto, predict."""

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rapidocr")
pytest.importorskip("onnxruntime")

from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from subtitle_vlm.crop import crop_image  # noqa: E402

from subtitle_vlm.engines.ppocr import (PPOCREngine, pad_box, parse_engine_options, region_rows,  # noqa: E402
                                        resolve_auto_crop)

W, H = 1280, 720


def _font_path() -> Path:
    for pkg, name in (("manimgx_fonts_cjk", "NotoSansCJK-VF.otf.ttc"),
                      ("cvttf_NotoSansCJK_Regular", "NotoSansCJKtc-Regular.otf")):
        spec = importlib.util.find_spec(pkg)
        if spec and spec.origin and (Path(spec.origin).parent / name).is_file():
            return Path(spec.origin).parent / name
    pytest.skip("no CJK font wheel installed (manimgx-fonts-cjk or cvttf-notosanscjk-regular)")


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_font_path()), size)


def _background(seed: int) -> Image.Image:
    """A busy, photo-like background: smooth colour fields plus texture."""
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 220, (9, 16, 3)).astype(np.uint8)
    img = np.asarray(Image.fromarray(small).resize((W, H), Image.BICUBIC)).astype(np.int16)
    img += rng.integers(-12, 12, img.shape, dtype=np.int16)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def draw_frame(lines: list[str], seed: int = 0, distractors: bool = True, size: int = 56):
    """Subtitle lines bottom-centre (white, black outline); logo, coloured title, a dark-on-light sign."""
    im = _background(seed)
    d = ImageDraw.Draw(im)
    font = _font(size)
    boxes = []
    y = H - 2.4 * size - (len(lines) - 1) * 1.3 * size
    for line in lines:
        w = d.textlength(line, font=font)
        x = (W - w) / 2
        d.text((x, y), line, font=font, fill=(252, 252, 252), stroke_width=2, stroke_fill=(0, 0, 0))
        boxes.append(d.textbbox((x, y), line, font=font, stroke_width=2))
        y += 1.3 * size
    if distractors:
        d.text((W - 190, 30), "晨光台", font=_font(36), fill=(255, 255, 255), stroke_width=1, stroke_fill=(0, 0, 0))
        d.text((420, 60), "美食大探索", font=_font(60), fill=(255, 200, 0), stroke_width=2, stroke_fill=(90, 0, 0))
        d.rectangle((60, 300, 360, 380), fill=(235, 235, 230))
        d.text((80, 312), "便利商店", font=_font(48), fill=(30, 30, 30))
    box = None
    if boxes:
        box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
    return im, box


@pytest.fixture(scope="module")
def engine():
    ocr, sel = parse_engine_options({"threads": 2})
    return PPOCREngine(ocr, sel)


def _iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.slow
def test_reads_subtitle_among_distractors_and_nothing_without_one(engine):
    one, box1 = draw_frame(["我們先把行李放好，再出去吃飯。"], seed=1)
    two, box2 = draw_frame(["根據氣象局預報，", "明天午後有雷陣雨。"], seed=2)
    none, _ = draw_frame([], seed=3)
    assert engine.read([one, two, none]) == ["我們先把行李放好，再出去吃飯。", "根據氣象局預報，明天午後有雷陣雨。", ""]
    # The box covers the drawn letters (PP-OCR's boxes add a margin around them).
    assert _iou(engine.subtitle_box(one), box1) > 0.6
    assert _iou(engine.subtitle_box(two), box2) > 0.6
    assert engine.subtitle_box(none) is None
    sel = engine.select(one)
    rejected = {text for text, _ in sel.rejected}
    assert {"晨光台", "美食大探索", "便利商店"} <= rejected


@pytest.mark.slow
def test_auto_crop_is_the_padded_subtitle_box_or_the_bottom_band(engine, monkeypatch):
    import subtitle_vlm.engines.ppocr.engine as mod

    monkeypatch.setattr(mod, "_shared", engine)
    one, drawn = draw_frame(["連長，第三排已經全部到齊了！"], seed=4)
    crop = resolve_auto_crop(one)
    box = pad_box(engine.subtitle_box(one), W, H)
    assert crop.size == (box[2] - box[0], box[3] - box[1])
    # The padded box holds every drawn letter and little else.
    assert box[0] <= drawn[0] and box[1] <= drawn[1] and box[2] >= drawn[2] and box[3] >= drawn[3]
    assert crop.size[1] < 3 * (drawn[3] - drawn[1])
    none, _ = draw_frame([], seed=5)
    assert resolve_auto_crop(none).size == crop_image(none, "bottom=0.33").size


@pytest.mark.slow
def test_a_region_is_searched_at_the_whole_frames_scale(engine):
    """read_region searches the region's rows only, scaled as the whole frame is: the same lines at the same
    places, in whole-frame pixels; the text above the rows (logo, title, sign) is not searched at all."""
    two, drawn = draw_frame(["根據氣象局預報，", "明天午後有雷陣雨。"], seed=2)
    whole = engine.select(two)
    # The region a video watches for a one-line subtitle: the lower line and half a line either side.
    line = (drawn[3] - drawn[1]) / 2.3
    region = (0, int(drawn[3] - 1.5 * line), W, int(drawn[3] + 0.5 * line))
    rows = region_rows(region, H)
    assert rows[0] < drawn[1] and rows[1] <= H  # the upper line of the subtitle is searched too
    part = engine.select(two, rows)
    assert part.text == whole.text == "根據氣象局預報，明天午後有雷陣雨。"
    assert max(abs(a - b) for a, b in zip(part.box, whole.box)) <= 6  # a tenth of a line
    assert not part.rejected  # nothing else lies in these rows
    assert engine.read_region([two], region) == [whole.text]
    # The strip searched holds the region's rows; its detector (engines/ppocr/strip.py) is built once.
    y0, y1 = engine.search_rows(region, W, H)
    assert y0 <= rows[0] and y1 >= rows[1] and y1 - y0 < H / 2
    before = dict(engine._strip_ocr)
    engine.read_region([two], region)
    assert engine._strip_ocr == before


def test_region_rows_reach_above_and_below_within_the_frame():
    assert region_rows((0, 500, 1280, 600), 720) == (440, 600)
    assert region_rows((0, 20, 1280, 100), 120) == (0, 100)  # never above the frame


def test_pad_box_clips_to_frame():
    assert pad_box((10, 600, 500, 700), W, H) == (0, 575, 550, 720)


def test_engine_options_errors_name_the_key(tmp_path, capsys):
    from subtitle_vlm.cli import main

    Image.new("RGB", (64, 64)).save(tmp_path / "a.png")
    rc = main(["predict", "--engine", "ppocr", "--input", str(tmp_path), "--out", str(tmp_path / "p.csv"),
               "--engine-options", '{"max_line": 1}', "--no-progress"])
    assert rc == 2 and "max_line" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown key.*selecter"):
        parse_engine_options({"selecter": "default"})
    with pytest.raises(ValueError, match="max_lines"):
        parse_engine_options({"max_lines": 0})
    with pytest.raises(ValueError, match="retired.*train-selector"):
        parse_engine_options({"selector": "rules"})
    with pytest.raises(ValueError, match="selector model .*nowhere does not exist"):
        PPOCREngine(*parse_engine_options({"selector": str(tmp_path / "nowhere")}))
    ocr, sel = parse_engine_options({"max_lines": 3, "use_cls": True}, workers=2)
    assert sel.max_lines == 3 and ocr.use_cls is True and ocr.threads >= 1


@pytest.mark.slow
def test_predict_cli_two_workers_with_a_corrupt_frame(tmp_path):
    from subtitle_vlm.cli import main

    frames = tmp_path / "frames"
    frames.mkdir()
    gold = {}
    texts = ["你今天怎麼這麼早就回來了？", "", "這碗牛肉麵的湯頭真的很濃郁。"]
    with open(frames / "metadata.jsonl", "w", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            im, _ = draw_frame([t] if t else [], seed=10 + i)
            im.save(frames / f"f_{i}.jpg", quality=85)
            gold[f"f_{i}"] = t
            f.write(json.dumps({"file_name": f"f_{i}.jpg", "text": t}, ensure_ascii=False) + "\n")
        (frames / "f_3.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
        gold["f_3"] = ""
        f.write(json.dumps({"file_name": "f_3.jpg", "text": ""}) + "\n")
    out = tmp_path / "pred.csv"
    rc = main(["predict", "--engine", "ppocr", "--input", str(frames), "--out", str(out), "--workers", "2",
               "--no-progress", "--engine-options", '{"threads": 1}'])
    assert rc == 0
    with open(out, encoding="utf-8", newline="") as f:
        rows = {r["id"]: r["text"] for r in csv.DictReader(f)}
    assert rows == gold


@pytest.mark.slow
def test_predict_on_synthesised_frames_with_distractors_and_one_without_subtitle(tmp_path):
    """The synthesis stage's frames (logo, title and caption on every frame) through ``predict``."""
    from subtitle_vlm.cli import main
    from subtitle_vlm.io import read_csv_predictions, read_frame_set
    from subtitle_vlm.text.metrics import levenshtein
    from subtitle_vlm.synth import SynthConfig, run_synth

    frames = tmp_path / "frames"
    run_synth(SynthConfig(out=str(frames), count=4, seed=5, style="tv", p_logo=1.0, p_title=1.0, p_caption=1.0,
                          p_empty=0.0, p_two_line=0.5, progress=False))
    empty = tmp_path / "empty"
    run_synth(SynthConfig(out=str(empty), count=1, seed=6, style="tv", p_logo=1.0, p_title=1.0, p_caption=1.0,
                          p_empty=1.0, progress=False))
    gold = {f.id: f.text for f in read_frame_set(frames)}
    assert all(gold.values()) and {f.text for f in read_frame_set(empty)} == {""}
    out = tmp_path / "pred.csv"
    assert main(["predict", "--engine", "ppocr", "--input", str(frames), "--out", str(out), "--no-progress"]) == 0
    pred = read_csv_predictions(out)
    assert set(pred) == set(gold)
    # Distractors never leak in: every reading is within two edits of its subtitle (a misread character
    # or a lost mark), where a logo, title or caption would add several characters.
    for k, g in gold.items():
        assert levenshtein(pred[k], g) <= 2, (k, g, pred[k])
    out_empty = tmp_path / "pred_empty.csv"
    assert main(["predict", "--engine", "ppocr", "--input", str(empty), "--out", str(out_empty), "--no-progress"]) == 0
    assert set(read_csv_predictions(out_empty).values()) == {""}


@pytest.mark.slow
def test_predict_loop_resolves_crop_auto_for_any_engine(engine, monkeypatch, tmp_path):
    import subtitle_vlm.engines.ppocr.engine as mod
    from subtitle_vlm.engines.base import Engine
    from subtitle_vlm.predict.predict_config import PredictConfig
    from subtitle_vlm.predict.runner import run_predict

    monkeypatch.setattr(mod, "_shared", engine)
    frames = tmp_path / "frames"
    frames.mkdir()
    one, drawn = draw_frame(["我們先把行李放好，再出去吃飯。"], seed=7)
    one.save(frames / "a.png")
    draw_frame([], seed=8)[0].save(frames / "b.png")

    class SizeEngine(Engine):  # reads nothing; reports the size of what the loop handed over
        name = "sizes"

        def read(self, images):
            return [f"{im.width}x{im.height}" for im in images]

    run_predict(PredictConfig(input=str(frames), out=str(tmp_path / "p.csv"), crop="auto"), engine=SizeEngine(),
                progress=False)
    from subtitle_vlm.io import read_csv_predictions

    sizes = read_csv_predictions(tmp_path / "p.csv")
    box = pad_box(engine.subtitle_box(one), W, H)
    assert sizes["a"] == f"{box[2] - box[0]}x{box[3] - box[1]}"
    assert sizes["b"] == "x".join(map(str, crop_image(one, "bottom=0.33").size))
