"""TV layout components (ticker, tags, logo / title / caption) and the record contract a selector learns from:
one element per drawn text line with its role, visible text and a tight ink box; independent components."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from PIL import Image

from subtitle_vlm.synth import load_assets, render_record, sample_record
from subtitle_vlm.synth.elements import ROLES, frame_elements
from subtitle_vlm.synth.layout import intersects
from subtitle_vlm.synth.tags import GIVEN, JOBS, PLACES, ROLES as TAG_ROLES, SPOTS, SURNAMES
from subtitle_vlm.synth.ticker import LABEL_TEXTS, scrolled, ticker_elements, ticker_segments

LAYOUT_KEYS = {"ticker", "tag", "logo", "title", "caption", "scene", "bar", "subtitle_style", "convention",
               "font_group"}
GREY = (118, 124, 120)


def _busy(small_cfg, **kw):
    base = dict(size="640x360", p_ticker=1.0, p_tag=1.0, p_logo=1.0, p_title=1.0, p_caption=1.0, p_scene_text=1.0,
                p_empty=0.0)
    base.update(kw)
    cfg = small_cfg(**base)
    return cfg, load_assets(cfg)


def _flat(rec: dict) -> Image.Image:
    """The frame over a flat grey picture, without degradations: only what is drawn changes pixels."""
    return render_record(dict(rec, degradations=None), background=Image.new("RGB", (8, 8), GREY))


def _ink(a: Image.Image, b: Image.Image) -> np.ndarray:
    return np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16)).max(axis=2) > 8


def _inside(mask: np.ndarray, boxes, tol: int = 1) -> np.ndarray:
    """Pixels of ``mask`` outside every box (grown by ``tol``)."""
    out = mask.copy()
    for x0, y0, x1, y1 in boxes:
        out[max(0, y0 - tol): y1 + tol, max(0, x0 - tol): x1 + tol] = False
    return out


def test_every_record_lists_its_text_lines_with_roles_and_boxes(small_cfg):
    cfg, assets = _busy(small_cfg, style="hard", count=12)
    roles = set()
    for i in range(cfg.count):
        rec = sample_record(i, cfg, assets)
        assert set(rec["layout"]) == LAYOUT_KEYS
        W, H = rec["size"]
        for e in rec["elements"]:
            assert set(e) == {"role", "text", "box", "font", "line"}
            assert e["role"] in ROLES and e["text"] and isinstance(e["font"], str) and e["line"] >= 0
            x0, y0, x1, y1 = e["box"]
            assert all(isinstance(v, int) for v in e["box"]) and 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H
            roles.add(e["role"])
        subs = [e for e in rec["elements"] if e["role"] == "subtitle"]
        assert [e["text"] for e in subs] == [ln.strip() for ln in rec["lines"]]
        assert [e["line"] for e in subs] == list(range(len(subs)))
        assert all(a["box"][1] < b["box"][1] for a, b in zip(subs, subs[1:]))  # reading order
        assert rec["layout"]["ticker"] == bool(rec["ticker"]) and rec["layout"]["tag"] == bool(rec["tags"])
        assert frame_elements(rec) is rec["elements"]
        for item in rec["scene_text"] + rec["tags"] + rec["distractors"]:  # whole, so the text listed is seen
            x0, y0, x1, y1 = item["bbox"]
            assert 0 <= x0 and 0 <= y0 and x1 <= W and y1 <= H
        assert json.loads(json.dumps(rec)) == rec
    assert roles == set(ROLES)


def test_element_text_is_in_a_font_that_has_its_glyphs(small_cfg):
    cfg, assets = _busy(small_cfg, count=10)
    by_name = {f.name: f for f in assets.fonts}
    for i in range(cfg.count):
        for e in sample_record(i, cfg, assets)["elements"]:
            assert by_name[e["font"]].covers(e["text"]), e


@pytest.mark.parametrize("component", ["subtitle", "ticker", "tags", "distractors", "scene_text"])
def test_boxes_hold_the_ink_of_their_lines(small_cfg, component):
    """Draw the frame with and without one component (plates, bands, shadows and marks in their own colour,
    so only the lettering differs): every changed pixel lies in a box of that component, and every box has ink."""
    cfg, assets = _busy(small_cfg, count=8, p_shadow=0.0, subtitle_styles=["outline_white", "thin_outline", "speaker"])
    role = {"tags": "tag", "distractors": None, "scene_text": "scene"}.get(component, component)
    checked = 0
    for i in range(cfg.count):
        rec = copy.deepcopy(sample_record(i, cfg, assets))
        if not rec[component]:
            continue
        bare = copy.deepcopy(rec)
        if component == "ticker":
            t = rec["ticker"]
            t.update(color2=None, mark=None)
            bare["ticker"] = dict(copy.deepcopy(t), fill=t["color"])
            if t["label"]:
                bare["ticker"]["label"]["fill"] = t["label"]["color"]
        elif component == "tags":
            for t, b in zip(rec["tags"], bare["tags"]):
                b["fills"] = t["plate_colors"]
        elif component == "distractors":
            for d in rec["distractors"]:
                d["box"] = None
            bare["distractors"] = []
        elif component == "scene_text":
            for item in rec["scene_text"]:
                item["plate"] = None
            bare["scene_text"] = []
        else:
            rec["subtitle"]["shadow"] = None
            bare["subtitle"] = None
        mask = _ink(_flat(rec), _flat(bare))
        elems = [e for e in frame_elements(rec) if (e["role"] == role if role else e["role"] in ("logo", "title",
                                                                                                  "caption"))]
        assert elems and mask.any()
        tol = 2 if component == "scene_text" else 1
        stray = _inside(mask, [e["box"] for e in elems], tol)
        if component == "ticker":  # a glyph cut at a clip end with under half of it showing is no text
            edge = rec["ticker"]["font_size"]
            for cx in rec["ticker"]["clip"]:
                stray[:, max(0, cx - edge): cx + edge] = False
        assert stray.sum() == 0, (component, i, np.argwhere(stray)[:5].tolist(), [e["box"] for e in elems])
        for e in elems:
            x0, y0, x1, y1 = e["box"]
            assert mask[y0:y1, x0:x1].sum() > 3, e  # the box is where ink is, not a guess
            if component in ("subtitle", "tags"):  # tight: the ink reaches every edge of the box
                ys, xs = np.nonzero(mask[y0:y1, x0:x1])
                assert xs.min() <= 2 and ys.min() <= 2 and xs.max() >= x1 - x0 - 3 and ys.max() >= y1 - y0 - 3, e
        checked += 1
    assert checked >= 3


def test_ticker_runs_along_the_bottom_clipped_and_the_subtitle_sits_above_it(small_cfg):
    cfg, assets = _busy(small_cfg, count=30, size="1280x720", p_ticker_label=0.5)
    labels = clipped = repeats = 0
    for i in range(cfg.count):
        rec = sample_record(i, cfg, assets)
        t = rec["ticker"]
        assert t is not None
        W, H = rec["size"]
        x0, y0, x1, y1 = t["band"]
        assert (x0, x1) == (0, W) and H - 0.12 * H <= y0 < y1 <= H
        sub = rec["subtitle"]
        top = t["label"]["rect"][1] if t["label"] else y0
        assert sub["bbox"][3] <= top and (not sub["box"] or sub["box"]["rect"][3] <= top)
        ticks = [e for e in rec["elements"] if e["role"] == "ticker"]
        loop = "".join(t["headlines"]) * 3
        for e in ticks:
            assert y0 - (t["label"]["rect"][3] - t["label"]["rect"][1] if t["label"] else 0) <= e["box"][1]
            assert e["box"][3] <= y1
            if t["label"] and e["text"] == t["label"]["text"]:
                continue
            assert e["text"].replace(" ", "") in loop.replace(" ", "")
            cx0, cx1 = t["clip"]
            assert cx0 <= e["box"][0] and e["box"][2] <= cx1
        heads = [e["text"] for e in ticks if not (t["label"] and e["text"] == t["label"]["text"])]
        clipped += any(h not in t["headlines"] for h in heads)
        repeats += len(heads) != len(set(heads))
        labels += bool(t["label"])
        if t["label"]:
            assert t["label"]["text"] in LABEL_TEXTS and t["label"]["text"] in [e["text"] for e in ticks]
    assert clipped >= 20 and repeats >= 3 and 5 <= labels <= 25


def test_a_scrolled_ticker_moves_its_text_left(small_cfg):
    cfg, assets = _busy(small_cfg, p_ticker_label=0.0)
    t = sample_record(0, cfg, assets)["ticker"]
    a, b = ticker_segments(t), ticker_segments(scrolled(t, 7))
    assert [x - 7 for x, _ in a[1:]] == [x for x, _ in b[: len(a) - 1]] or a[0][0] - 7 == b[0][0]
    assert ticker_elements(scrolled(t, 0), 640, 360) == ticker_elements(t, 640, 360)


def test_tags_are_boxed_made_up_names_at_the_side_clear_of_the_subtitle(small_cfg):
    cfg, assets = _busy(small_cfg, count=30, size="1280x720", p_ticker=0.5)
    sides, n_lines = set(), set()
    words = set(SURNAMES) | set(GIVEN) | set("".join(JOBS + PLACES + SPOTS + TAG_ROLES)) | set("　 攝影餐廳麵店民宿農場研究所協會基金旅行社果園茶行")
    for i in range(cfg.count):
        rec = sample_record(i, cfg, assets)
        sub = rec["subtitle"]
        protect = tuple(sub["box"]["rect"]) if sub["box"] else tuple(sub["bbox"])
        for t in rec["tags"]:
            sides.add(t["side"])
            n_lines.add(len(t["lines"]))
            assert not intersects(tuple(t["bbox"]), protect)
            if rec["ticker"]:
                assert t["bbox"][3] <= rec["ticker"]["band"][1]
            assert len(t["plates"]) == len(t["lines"]) and set("".join(t["lines"])) <= words
            x0, _, x1, _ = t["bbox"]
            assert (x0 < 640) if t["side"] == "left" else (x1 > 640)
    assert sides == {"left", "right"} and n_lines == {1, 2}


def _strip(rec, *keys):
    return {k: v for k, v in rec.items() if k not in keys + ("elements", "layout")}


def test_switching_tags_on_changes_nothing_else(small_cfg):
    on, off = small_cfg(p_tag=1.0, p_ticker=0.5, p_logo=1.0, p_scene_text=0.0), \
        small_cfg(p_tag=0.0, p_ticker=0.5, p_logo=1.0, p_scene_text=0.0)
    a_on, a_off = load_assets(on), load_assets(off)
    with_tags = 0
    for i in range(8):
        r_on, r_off = sample_record(i, on, a_on), sample_record(i, off, a_off)
        assert r_off["tags"] == []
        with_tags += bool(r_on["tags"])
        assert _strip(r_on, "tags") == _strip(r_off, "tags")
        assert [e for e in r_on["elements"] if e["role"] != "tag"] == r_off["elements"]
    assert with_tags >= 5


def test_switching_the_ticker_on_moves_only_the_subtitle_up(small_cfg):
    on, off = small_cfg(p_ticker=1.0, p_tag=0.0, p_scene_text=0.0, p_logo=0.0, p_title=0.0, p_caption=0.0), \
        small_cfg(p_ticker=0.0, p_tag=0.0, p_scene_text=0.0, p_logo=0.0, p_title=0.0, p_caption=0.0)
    a_on, a_off = load_assets(on), load_assets(off)
    for i in range(8):
        r_on, r_off = sample_record(i, on, a_on), sample_record(i, off, a_off)
        assert r_off["ticker"] is None and r_on["ticker"] is not None
        assert _strip(r_on, "ticker", "subtitle") == _strip(r_off, "ticker", "subtitle")
        s_on, s_off = r_on["subtitle"], r_off["subtitle"]
        same = ("style", "text", "font", "fill", "stroke_width", "letter_spacing", "shadow")
        assert {k: s_on[k] for k in same} == {k: s_off[k] for k in same}
        assert s_on["line_xy"][-1][1] < s_off["line_xy"][-1][1]


def test_each_overlay_kind_is_independent_of_the_others(small_cfg):
    base = dict(p_ticker=0.0, p_tag=0.0, p_scene_text=0.0, p_logo=1.0, p_title=1.0, p_caption=1.0)
    all_on = small_cfg(**base)
    no_caption = small_cfg(**dict(base, p_caption=0.0))
    a1, a2 = load_assets(all_on), load_assets(no_caption)
    for i in range(8):
        r1, r2 = sample_record(i, all_on, a1), sample_record(i, no_caption, a2)
        assert [d for d in r1["distractors"] if d["kind"] != "caption"] == r2["distractors"]


def test_clean_frames_show_the_subtitle_alone_and_tv_frames_show_tv_layouts(small_cfg):
    clean = small_cfg(style="clean", count=10)
    a = load_assets(clean)
    for i in range(10):
        rec = sample_record(i, clean, a)
        assert {e["role"] for e in rec["elements"]} == {"subtitle"}
        assert rec["convention"] == "punctuated" and rec["text"] == rec["source_text"]
        assert rec["subtitle"]["style"] == "classic"
    tv = small_cfg(style="tv", count=120)
    a = load_assets(tv)
    recs = [sample_record(i, tv, a) for i in range(120)]
    share = {k: sum(r["layout"][k] for r in recs) / len(recs) for k in ("ticker", "tag", "logo")}
    assert 0.18 <= share["ticker"] <= 0.42 and 0.08 <= share["tag"] <= 0.32 and share["logo"] >= 0.4, share


def test_old_records_get_their_subtitle_lines_from_line_xy(small_cfg, tmp_path):
    cfg = small_cfg(p_two_line=1.0, p_empty=0.0)
    assets = load_assets(cfg)
    rec = next(r for r in (sample_record(i, cfg, assets) for i in range(20)) if len(r["lines"]) == 2)
    old = {k: v for k, v in rec.items() if k not in ("elements", "layout", "ticker", "tags", "source_text",
                                                    "convention")}
    els = frame_elements(old)
    assert [e for e in els if e["role"] == "subtitle"] == [e for e in rec["elements"] if e["role"] == "subtitle"]
    # the font file is gone: the lines share the subtitle's box
    gone = copy.deepcopy(old)
    gone["subtitle"]["font"]["path"] = str(tmp_path / "missing.ttf")
    gone["distractors"], gone["scene_text"] = [], []
    subs = frame_elements(gone)
    x0, y0, x1, y1 = rec["subtitle"]["bbox"]
    assert [e["text"] for e in subs] == rec["lines"]
    assert subs[0]["box"][1] == y0 and subs[-1]["box"][3] == y1 and all(e["box"][0] == x0 for e in subs)


def test_preview_outlines_elements_by_role(tmp_path, small_cfg):
    from subtitle_vlm.cli import main as cli_main
    from subtitle_vlm.synth import run_synth
    from subtitle_vlm.synth.preview import ROLE_COLORS

    cfg = small_cfg(count=2, size="640x360", p_ticker=1.0, p_tag=1.0, p_empty=0.0)
    run_synth(cfg)
    out = tmp_path / "grid.png"
    assert cli_main(["preview", "--input", cfg.out, "--out", str(out), "--count", "2", "--boxes"]) == 0
    arr = np.asarray(Image.open(out).convert("RGB")).astype(int)
    for role in ("subtitle", "ticker", "tag"):
        hits = (np.abs(arr - ROLE_COLORS[role]).max(axis=2) <= 10).sum()
        assert hits > 40, role
