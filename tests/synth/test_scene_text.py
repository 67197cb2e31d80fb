"""Scene text: sampled into the record, clear of the subtitle, painted only where it says, independent of
the frame's other choices."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from subtitle_vlm.io import InputError
from subtitle_vlm.synth import PRESETS, load_assets, render_record, sample_record
from subtitle_vlm.synth.layout import intersects
from subtitle_vlm.synth.scene_text import draw_scene_text, sample_scene_text


def test_presets_put_scene_text_in_hard_frames_only_when_asked():
    assert PRESETS["hard"].p_scene_text > 0.5
    assert PRESETS["clean"].p_scene_text == 0.0


def test_scene_text_never_touches_the_subtitle_ink(small_cfg):
    cfg = small_cfg(count=40, size="640x360", p_scene_text=1.0, p_empty=0.0)
    assets = load_assets(cfg)
    items = 0
    for i in range(cfg.count):
        rec = sample_record(i, cfg, assets)
        sub = tuple(rec["subtitle"]["bbox"])
        for item in rec["scene_text"]:
            items += 1
            assert not intersects(tuple(item["bbox"]), sub), (i, item["lines"])
            assert item["kind"] in ("sign", "latin", "plain", "poster")
            assert item["plate"] is None or item["kind"] != "plain"
        assert json.loads(json.dumps(rec)) == rec
    assert items >= cfg.count  # 1-3 items a frame, a few may find no room


def test_switching_scene_text_on_changes_nothing_else(small_cfg):
    on, off = small_cfg(p_scene_text=1.0), small_cfg(p_scene_text=0.0)
    a_on, a_off = load_assets(on), load_assets(off)
    for i in range(6):
        r_on, r_off = sample_record(i, on, a_on), sample_record(i, off, a_off)
        assert r_off["scene_text"] == []
        assert r_on["scene_text"]
        assert [e for e in r_on["elements"] if e["role"] != "scene"] == r_off["elements"]
        assert r_on["layout"] == dict(r_off["layout"], scene=True)
        strip = lambda r: {k: v for k, v in r.items() if k not in ("scene_text", "elements", "layout")}  # noqa: E731
        assert strip(r_on) == strip(r_off)


def test_an_item_paints_inside_its_box_and_nowhere_else(small_cfg):
    cfg = small_cfg(size="640x360")
    assets = load_assets(cfg)

    class P:
        p_scene_text = 1.0

    rng = np.random.default_rng(5)
    items = sample_scene_text(rng, assets, P, 640, 360, protect=None)
    assert items
    for item in items:
        img = Image.new("RGB", (640, 360), (90, 120, 60))
        draw_scene_text(img, item)
        changed = np.nonzero(np.abs(np.asarray(img, np.int16) - [90, 120, 60]).max(axis=2) > 0)
        assert len(changed[0]) > 50, item
        x0, y0, x1, y1 = item["bbox"]
        assert changed[1].min() >= max(0, x0) and changed[1].max() < x1
        assert changed[0].min() >= max(0, y0) and changed[0].max() < y1


def test_rendered_frame_shows_the_scene_text(small_cfg):
    cfg = small_cfg(size="640x360", p_scene_text=1.0)
    assets = load_assets(cfg)
    rec = sample_record(1, cfg, assets)
    with_text = np.asarray(render_record(rec), np.int16)
    without = np.asarray(render_record(dict(rec, scene_text=[])), np.int16)
    x0, y0, x1, y1 = (max(0, v) for v in rec["scene_text"][0]["bbox"])
    assert np.abs(with_text[y0:y1, x0:x1] - without[y0:y1, x0:x1]).mean() > 1.0


def test_scene_text_probability_is_checked(small_cfg):
    with pytest.raises(InputError, match="p-scene-text"):
        small_cfg(p_scene_text=1.5).validate()
