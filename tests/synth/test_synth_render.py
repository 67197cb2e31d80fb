"""Records: re-rendering, own backgrounds, subtitle boxes, labels, style presets, the original's rules."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from subtitle_vlm.io import read_jsonl
from subtitle_vlm.synth import (load_assets, render_record, run_synth, sample_record, save_frame,
                                subtitle_bbox)
from subtitle_vlm.synth.fonts import FONT_WHEEL_PACKAGES


def _diff_box(a: Image.Image, b: Image.Image):
    d = np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16)).max(axis=2) > 0
    ys, xs = np.nonzero(d)
    if not len(xs):
        return None
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def test_records_rerender_to_the_same_bytes(tmp_path, small_cfg):
    cfg = small_cfg(count=8, style="hard")
    run_synth(cfg)
    assets = load_assets(cfg)
    for rec in read_jsonl(Path(cfg.out) / "metadata.jsonl"):
        assert sample_record(rec["index"], cfg, assets) == json.loads(json.dumps(rec))
        out = tmp_path / "again" / rec["file_name"]
        save_frame(render_record(rec, None), rec, out)
        assert out.read_bytes() == (Path(cfg.out) / rec["file_name"]).read_bytes()


def test_default_fonts_are_the_wheels_and_the_systems_and_labels_are_sentences(small_cfg, sentence_file):
    from subtitle_vlm.synth.conventions import apply_convention
    from subtitle_vlm.synth.fonts import system_cjk_font_files, wheel_font_files

    cfg = small_cfg(count=20, p_two_line=1.0, p_empty=0.0)
    run_synth(cfg)
    recs = read_jsonl(Path(cfg.out) / "metadata.jsonl")
    corpus = set(sentence_file.read_text(encoding="utf-8").split("\n"))
    pool = {str(p.resolve()) for p in wheel_font_files() + system_cjk_font_files()}
    for r in recs:
        assert r["subtitle"]["font"]["path"] in pool
        assert r["source_text"] in corpus
        shown = {apply_convention(r["source_text"], r["convention"], sp) for sp in ("\u3000", " ")}
        assert r["text"] in shown
        if len(r["text"]) >= 8:
            assert len(r["lines"]) == 2
            assert "".join(r["lines"]).replace(" ", "") == r["text"].replace(" ", "")
        else:
            assert r["lines"] == [r["text"]]
    assert any(Path(r["subtitle"]["font"]["path"]).parent.name in FONT_WHEEL_PACKAGES for r in recs) or not \
        wheel_font_files()


def test_frames_without_subtitle_have_empty_labels(small_cfg):
    cfg = small_cfg(count=5, p_empty=1.0, p_title=1.0)
    run_synth(cfg)
    recs = read_jsonl(Path(cfg.out) / "metadata.jsonl")
    assert all(r["text"] == "" and r["lines"] == [] and r["subtitle"] is None for r in recs)
    assert all(subtitle_bbox(r) is None for r in recs)
    assert any(d["kind"] == "title" for r in recs for d in r["distractors"])


def test_subtitle_bbox_holds_the_drawn_subtitle(small_cfg):
    cfg = small_cfg(size="640x360", style="clean")
    assets = load_assets(cfg)
    checked = 0
    for i in range(12):
        rec = sample_record(i, cfg, assets)
        bare = dict(rec, subtitle=None)
        box = subtitle_bbox(rec)
        drawn = _diff_box(render_record(rec), render_record(bare))
        assert drawn is not None
        sh = rec["subtitle"]["shadow"]
        grow = (sh["offset"][0] + 1) if sh else 1
        assert box[0] - 1 <= drawn[0] and box[1] - 1 <= drawn[1]
        assert drawn[2] <= box[2] + grow and drawn[3] <= box[3] + grow
        assert drawn[2] - drawn[0] >= 0.9 * (box[2] - box[0])  # the box is tight, not the whole frame
        checked += 1
    assert checked == 12


def test_own_background_replaces_the_sampled_one(small_cfg):
    cfg = small_cfg(size="640x360", style="clean")
    assets = load_assets(cfg)
    rec = sample_record(0, cfg, assets)
    green = Image.new("RGB", (1280, 720), (0, 160, 0))
    img = render_record(rec, assets, background=green)
    assert img.size == (640, 360)
    arr = np.asarray(img).astype(int)
    x0, y0, x1, y1 = subtitle_bbox(rec)
    outside = np.ones(arr.shape[:2], bool)
    outside[max(0, y0 - 6): y1 + 6, max(0, x0 - 6): x1 + 6] = False
    assert np.abs(arr[outside] - [0, 160, 0]).max() <= 8  # JPEG-free render: only the text changes pixels
    inside = arr[y0:y1, x0:x1]
    assert (inside.min(axis=2) > 240).sum() > 50  # white subtitle pixels over the green


def test_clean_style_is_the_original_rendering(small_cfg):
    cfg = small_cfg(size="1280x720", style="clean")
    assets = load_assets(cfg)
    rules = set()
    for i in range(25):
        r = sample_record(i, cfg, assets)
        sub = r["subtitle"]
        assert r["distractors"] == []
        assert r["degradations"] == {"resample": None, "blur": 0.0, "noise": 0.0, "jpeg_quality": 95}
        assert all(250 <= c <= 255 for c in sub["fill"])
        assert 50 <= sub["font_size"] <= 70
        assert sub["box"] is None and sub["letter_spacing"] == 0
        # the original's outline rule: 1 px on bright backgrounds, else none (with a hard shadow 1 in 4)
        if sub["brightest_under_text"] > 150:
            assert sub["stroke_width"] == 1 and sub["outline_rule"] == "bright_outline"
        else:
            assert sub["stroke_width"] == 0 and sub["outline_rule"] == "dark"
            assert sub["shadow"] is None or (sub["shadow"]["blur"] == 0 and sub["shadow"]["offset"][0] >= 2)
        rules.add(sub["outline_rule"])
        x0, y0, x1, y1 = sub["bbox"]
        assert abs((x0 + x1) / 2 - 640) < 30 and 0 <= x0 and x1 <= 1280
        assert 720 * 0.5 < y0 < 720 and y1 <= 720
    assert rules == {"bright_outline", "dark"}  # both backgrounds kinds met


def test_tv_and_hard_styles_vary(small_cfg):
    seen = {"tv": set(), "hard": set()}
    for style in seen:
        cfg = small_cfg(style=style)
        assets = load_assets(cfg)
        for i in range(60):
            r = sample_record(i, cfg, assets)
            sub = r["subtitle"]
            deg = r["degradations"]
            if sub:
                seen[style] |= {k for k in ("shadow", "box") if sub[k]}
                seen[style] |= {"yellow"} if sub["fill"][2] < 100 else set()
                seen[style] |= {"spacing"} if sub["letter_spacing"] else set()
                seen[style] |= {"two_lines"} if len(sub["lines"]) == 2 else set()
                if sub["font"]["weight"] not in (None, 400):
                    seen[style].add("weight")
                for a, b in ((0, 2), (1, 3)):
                    assert 0 <= sub["bbox"][a] < sub["bbox"][b] <= r["size"][a]
            else:
                seen[style].add("empty")
            seen[style] |= {d["kind"] for d in r["distractors"]}
            seen[style] |= {k for k in ("resample", "blur", "noise") if deg[k]}
        lo, hi = (75, 95) if style == "tv" else (55, 90)
        assert all(lo <= sample_record(i, cfg, assets)["degradations"]["jpeg_quality"] <= hi for i in range(10))
    for style in seen:
        assert {"shadow", "yellow", "two_lines", "weight", "logo", "title", "caption", "resample"} <= seen[style], style


def test_png_output_and_size_scaling(small_cfg):
    cfg = small_cfg(count=2, image_format="png", size="640x360", style="clean")
    run_synth(cfg)
    recs = read_jsonl(Path(cfg.out) / "metadata.jsonl")
    assert [r["file_name"] for r in recs] == ["frame_000001.png", "frame_000002.png"]
    with Image.open(Path(cfg.out) / "frame_000001.png") as im:
        assert im.size == (640, 360)
    assert all(25 <= r["subtitle"]["font_size"] <= 35 for r in recs)  # 50-70 px at 720p, halved


def test_jpeg_quality_is_the_records(tmp_path, small_cfg):
    cfg = small_cfg(count=1, jpeg_quality=[60, 60])
    run_synth(cfg)
    rec = read_jsonl(Path(cfg.out) / "metadata.jsonl")[0]
    assert rec["degradations"]["jpeg_quality"] == 60
    buf = io.BytesIO()
    render_record(rec).save(buf, "JPEG", quality=60)
    assert buf.getvalue() == (Path(cfg.out) / rec["file_name"]).read_bytes()


@pytest.mark.parametrize("bad, match", [
    ({"size": "1280*720"}, "WIDTHxHEIGHT"), ({"p_shadow": 1.5}, "probability"), ({"workers": 0}, "workers"),
    ({"font_size": [70, 50]}, "MIN MAX"), ({"out": ""}, "--out is required"),
])
def test_bad_options_say_what_to_change(small_cfg, bad, match):
    from subtitle_vlm.io import InputError

    with pytest.raises(InputError, match=match):
        small_cfg(**bad).validate()
