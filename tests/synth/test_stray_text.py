"""Stray text: random-looking lines anywhere in the upper half, clear of the subtitle's rows,
sampled from a stream of their own (turning them on changes nothing else) and off in every preset."""

from __future__ import annotations

import numpy as np

from subtitle_vlm.synth import PRESETS, load_assets, render_record, sample_record
from subtitle_vlm.synth.layout import intersects
from subtitle_vlm.synth.stray_text import LOWEST


def _extent(item) -> tuple:
    return tuple(item["box"]["rect"]) if item["box"] else tuple(item["bbox"])


def test_every_preset_leaves_stray_text_off():
    assert all(p.p_stray == 0.0 for p in PRESETS.values())


def test_stray_lines_stay_in_the_upper_half_clear_of_the_subtitle(small_cfg):
    cfg = small_cfg(count=30, size="640x360", p_stray=1.0, p_empty=0.0, p_two_line=0.5)
    assets = load_assets(cfg)
    items = 0
    for i in range(cfg.count):
        rec = sample_record(i, cfg, assets)
        W, H = rec["size"]
        sub = rec["subtitle"]
        protect = tuple(sub["box"]["rect"]) if sub["box"] else tuple(sub["bbox"])
        line_h = (sub["bbox"][3] - sub["bbox"][1]) / len(sub["lines"])
        others = [tuple(t["bbox"]) for t in rec["tags"]] + [_extent(d) for d in rec["distractors"]]
        assert len(rec["stray_text"]) <= 3 and rec["layout"]["stray"] == bool(rec["stray_text"])
        for item in rec["stray_text"]:
            x0, y0, x1, y1 = item["bbox"]
            assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H
            ex = _extent(item)  # a subtitle line's height from the subtitle's rows, however far to the side
            assert ex[3] <= protect[1] - int(line_h) + 1 or ex[1] >= protect[3] + int(line_h) - 1, (ex, protect)
            assert not any(intersects(_extent(item), o) for o in others)
            assert y1 <= LOWEST * H
            items += 1
        strays = [e for e in rec["elements"] if e["role"] == "stray"]
        assert [e["text"] for e in strays] == [it["text"].strip() for it in rec["stray_text"]]
    assert items >= 30


def test_frames_without_a_subtitle_keep_its_band_clear(small_cfg):
    cfg = small_cfg(count=20, size="640x360", p_stray=1.0, p_empty=1.0)
    assets = load_assets(cfg)
    band = (int(0.1 * 640), int(0.55 * 360), int(0.9 * 640), 360)
    seen = 0
    for i in range(cfg.count):
        rec = sample_record(i, cfg, assets)
        assert rec["subtitle"] is None
        for item in rec["stray_text"]:
            assert not intersects(_extent(item), band)
            seen += 1
    assert seen >= 10


def test_switching_stray_text_on_changes_nothing_else(small_cfg):
    on, off = small_cfg(p_stray=1.0, p_tag=0.5, p_logo=1.0), small_cfg(p_tag=0.5, p_logo=1.0)
    a_on, a_off = load_assets(on), load_assets(off)
    for i in range(8):
        r_on, r_off = sample_record(i, on, a_on), sample_record(i, off, a_off)
        assert r_off["stray_text"] == [] and r_on["stray_text"]
        strip = ("stray_text", "elements", "layout")
        assert {k: v for k, v in r_on.items() if k not in strip} == {k: v for k, v in r_off.items() if k not in strip}
        assert [e for e in r_on["elements"] if e["role"] != "stray"] == r_off["elements"]


def test_stray_text_is_drawn_where_its_elements_say(small_cfg):
    from PIL import Image

    cfg = small_cfg(count=6, size="640x360", p_stray=1.0, p_empty=1.0, p_logo=0.0, p_title=0.0, p_caption=0.0,
                    p_tag=0.0, p_ticker=0.0, p_scene_text=0.0)
    assets = load_assets(cfg)
    grey = Image.new("RGB", (8, 8), (118, 124, 120))
    checked = 0
    for i in range(cfg.count):
        rec = sample_record(i, cfg, assets)
        if not rec["stray_text"]:
            continue
        for d in rec["stray_text"]:
            d["box"] = None  # lettering only, so every changed pixel is text
        flat = dict(rec, degradations=None)
        a = np.asarray(render_record(flat, background=grey), np.int16)
        b = np.asarray(render_record(dict(flat, stray_text=[]), background=grey), np.int16)
        ink = np.abs(a - b).max(axis=2) > 8
        boxes = [e["box"] for e in rec["elements"] if e["role"] == "stray"]
        outside = ink.copy()
        for x0, y0, x1, y1 in boxes:
            assert ink[y0:y1, x0:x1].sum() > 3
            outside[max(0, y0 - 1): y1 + 1, max(0, x0 - 1): x1 + 1] = False
        assert outside.sum() == 0
        checked += 1
    assert checked >= 3
