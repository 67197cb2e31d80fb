"""Subtitle styles seen on air, text conventions, the font pool's groups, and the options that leave one out."""

from __future__ import annotations

import numpy as np
import pytest

from subtitle_vlm.io import InputError
from subtitle_vlm.synth import load_assets, render_record, sample_record
from subtitle_vlm.synth.conventions import apply_convention, resolve
from subtitle_vlm.synth.fonts import FONT_GROUPS, font_group
from subtitle_vlm.synth.subtitle_style import SUBTITLE_STYLES


@pytest.mark.parametrize("text, taiwan, none", [
    ("我們先把行李放好，再出去吃飯。", "我們先把行李放好　再出去吃飯", "我們先把行李放好 再出去吃飯"),
    ("你今天怎麼這麼早就回來了？", "你今天怎麼這麼早就回來了？", "你今天怎麼這麼早就回來了"),
    ("他說：「好，走吧。」", "他說　「好　走吧」", "他說 好 走吧"),
    ("價格是 3.5 元。", "價格是 3.5 元", "價格是 3.5 元"),
    ("明天下午 3 點在車站見", "明天下午 3 點在車站見", "明天下午 3 點在車站見"),
    ("等一下、再說；好嗎？", "等一下　再說　好嗎？", "等一下 再說 好嗎"),
])
def test_conventions_show_the_punctuation_the_way_tv_does(text, taiwan, none):
    assert apply_convention(text, "taiwan") == taiwan
    assert apply_convention(text, "none") == none
    assert apply_convention(text, "punctuated") == text
    assert apply_convention(text, "taiwan", " ") == taiwan.replace("\u3000", " ")


def test_mix_means_every_convention():
    assert resolve(["mix"]) == ("taiwan", "punctuated", "none")
    assert resolve(["none", "taiwan", "none"]) == ("none", "taiwan")
    with pytest.raises(ValueError, match="unknown text convention"):
        apply_convention("好", "tw")


@pytest.mark.parametrize("convention", ["taiwan", "punctuated", "none"])
def test_one_convention_alone_labels_what_is_on_screen(small_cfg, convention):
    cfg = small_cfg(text_convention=[convention], p_empty=0.0, style="hard", count=12)
    assets = load_assets(cfg)
    for i in range(cfg.count):
        rec = sample_record(i, cfg, assets)
        assert rec["convention"] == rec["layout"]["convention"] == convention
        src, text = rec["source_text"], rec["text"]
        if convention == "punctuated":
            assert text == src
        elif convention == "taiwan":
            assert not set(text) & set("，、；：。") and not text.endswith(".")
        else:
            assert not set(text) & set("，、；：。！？「」")
        assert "".join(e["text"] for e in rec["elements"] if e["role"] == "subtitle").replace(" ", "") == \
            text.replace(" ", "")


def test_the_default_mix_shows_all_three_and_clean_keeps_the_corpus(small_cfg):
    cfg = small_cfg(p_empty=0.0, count=60)
    assets = load_assets(cfg)
    seen = {sample_record(i, cfg, assets)["convention"] for i in range(cfg.count)}
    assert seen == {"taiwan", "punctuated", "none"}
    cfg = small_cfg(style="clean", count=5)
    assets = load_assets(cfg)
    assert all(sample_record(i, cfg, assets)["text"] == sample_record(i, cfg, assets)["source_text"] for i in range(5))


def test_switching_convention_changes_only_the_text(small_cfg):
    a, b = small_cfg(text_convention=["none"], p_empty=0.0), small_cfg(text_convention=["punctuated"], p_empty=0.0)
    aa, ab = load_assets(a), load_assets(b)
    for i in range(6):
        ra, rb = sample_record(i, a, aa), sample_record(i, b, ab)
        assert ra["source_text"] == rb["source_text"]
        keep = ("font", "font_size", "fill", "style", "stroke_width", "shadow")
        assert {k: ra["subtitle"][k] for k in keep} == {k: rb["subtitle"][k] for k in keep}
        assert ra["distractors"] == rb["distractors"] and ra["ticker"] == rb["ticker"]


def _styles(small_cfg, styles, n=30, **kw):
    cfg = small_cfg(subtitle_styles=styles, p_empty=0.0, count=n, **kw)
    assets = load_assets(cfg)
    return [sample_record(i, cfg, assets) for i in range(n)]


def test_each_style_looks_as_named(small_cfg):
    recs = _styles(small_cfg, list(SUBTITLE_STYLES), n=80, p_two_line=1.0, p_shadow=0.0)
    by = {}
    for r in recs:
        by.setdefault(r["subtitle"]["style"], []).append(r["subtitle"])
        assert r["layout"]["subtitle_style"] == r["subtitle"]["style"]
        assert r["layout"]["bar"] == (r["subtitle"]["style"] == "bar")
    assert set(by) == set(SUBTITLE_STYLES)
    for s in by["outline_yellow"]:
        assert s["fill"][2] < 100 and s["stroke_width"] >= 2
    for s in by["outline_white"]:
        assert min(s["fill"]) >= 238 and s["stroke_width"] >= 2 and s["shadow"] is None
    for s in by["thin_outline"]:
        assert 1 <= s["stroke_width"] <= 2
    for s in by["shadow_only"]:
        assert s["stroke_width"] == 0 and s["shadow"] is not None
    for s in by["bar"]:
        assert s["stroke_width"] == 0 and s["box"] and s["box"]["alpha"] >= 0.4 and max(s["box"]["color"]) <= 40
    assert any(s["line_fills"] and s["line_fills"][0] != s["line_fills"][1] for s in by["speaker"])
    for s in by["speaker"]:
        assert s["fill"] not in ([250, 250, 250], [255, 255, 255]) and s["stroke_width"] >= 2


def test_two_speakers_draw_two_colours(small_cfg):
    recs = _styles(small_cfg, ["speaker"], n=40, p_two_line=1.0, size="640x360")
    rec = next(r for r in recs if r["subtitle"]["line_fills"] and r["subtitle"]["line_fills"][0]
               != r["subtitle"]["line_fills"][1])
    img = np.asarray(render_record(dict(rec, degradations=None)), np.int16)
    for fill, e in zip(rec["subtitle"]["line_fills"], [e for e in rec["elements"] if e["role"] == "subtitle"]):
        x0, y0, x1, y1 = e["box"]
        close = (np.abs(img[y0:y1, x0:x1] - fill).max(axis=2) <= 6).sum()
        assert close > 20, (fill, e)


def test_a_style_list_leaves_the_others_out(small_cfg):
    recs = _styles(small_cfg, ["shadow_only", "bar"], n=20)
    assert {r["subtitle"]["style"] for r in recs} == {"shadow_only", "bar"}
    assert {r["subtitle"]["style"] for r in _styles(small_cfg, ["thin_outline"], n=5, style="clean")} == \
        {"thin_outline"}


def test_font_groups_from_names():
    assert font_group("AR PL UKai TW") == "kai" and font_group("LXGW WenKai") == "kai"
    assert font_group("AR PL UMing TW") == "serif_ming" and font_group("Noto Serif CJK TC") == "serif_ming"
    assert font_group("Noto Sans CJK TC") == "sans" and font_group("WenQuanYi Zen Hei") == "sans"
    assert font_group({"name": "Some Face", "path": "/x/jf-openhuninn-round.ttf"}) == "round"
    assert font_group("Mystery Face") == "other"


def _groups(assets):
    return {assets.font_groups[i] for fonts in assets.sentence_fonts for i in fonts}


def test_font_group_options_choose_the_subtitle_fonts(small_cfg):
    everything = load_assets(small_cfg())
    have = _groups(everything)
    if len(have) < 2:
        pytest.skip("needs fonts of two groups (e.g. apt install fonts-arphic-ukai)")
    g = sorted(have)[0]
    only = small_cfg(font_groups=[g], p_empty=0.0, count=10)
    a = load_assets(only)
    assert _groups(a) == {g}
    recs = [sample_record(i, only, a) for i in range(10)]
    assert {r["subtitle"]["font"]["group"] for r in recs} == {g} == {r["layout"]["font_group"] for r in recs}
    without = small_cfg(exclude_font_groups=[g], p_empty=0.0, count=10)
    a = load_assets(without)
    assert g not in _groups(a)
    assert all(sample_record(i, without, a)["subtitle"]["font"]["group"] != g for i in range(10))


def test_every_group_shows_as_often(small_cfg):
    cfg = small_cfg(p_empty=0.0, count=90)
    assets = load_assets(cfg)
    have = _groups(assets)
    if len(have) < 2:
        pytest.skip("needs fonts of two groups")
    counts = {}
    for i in range(cfg.count):
        g = sample_record(i, cfg, assets)["subtitle"]["font"]["group"]
        counts[g] = counts.get(g, 0) + 1
    assert set(counts) == have and min(counts.values()) >= cfg.count / len(have) / 2.5, counts


@pytest.mark.parametrize("bad, match", [
    ({"subtitle_styles": ["glow"]}, "--subtitle-styles glow: unknown"),
    ({"subtitle_styles": []}, "--subtitle-styles: give at least one"),
    ({"text_convention": ["tw"]}, "--text-convention tw: unknown"),
    ({"font_groups": ["comic"]}, "--font-groups comic: unknown"),
    ({"exclude_font_groups": ["sans", "x"]}, "--exclude-font-groups x: unknown"),
    ({"font_groups": ["kai"], "exclude_font_groups": ["kai"]}, "no font group is left"),
    ({"p_ticker": 2.0}, "--p-ticker is a probability"),
    ({"p_tag": -0.1}, "--p-tag is a probability"),
])
def test_bad_layout_options_say_what_to_change(small_cfg, bad, match):
    with pytest.raises(InputError, match=match):
        small_cfg(**bad).validate()


def test_a_group_with_no_font_is_an_error_naming_the_groups_found(small_cfg):
    have = {font_group(f) for f in load_assets(small_cfg()).fonts}
    missing = [g for g in FONT_GROUPS if g not in have]
    if not missing:
        pytest.skip("every font group is installed here")
    with pytest.raises(InputError, match=rf"no font left for the subtitle in the groups {missing[0]}.*fonts found"):
        load_assets(small_cfg(font_groups=[missing[0]]))


def test_cli_takes_the_layout_options(tmp_path, sentence_file, bg_dir):
    from subtitle_vlm.cli import main as cli_main
    from subtitle_vlm.io import read_jsonl

    out = tmp_path / "f"
    assert cli_main(["synth", "--out", str(out), "--count", "3", "--size", "320x180", "--sentences", str(sentence_file),
                     "--backgrounds", str(bg_dir), "--p-ticker", "1", "--p-tag", "0", "--subtitle-styles", "bar",
                     "shadow_only", "--text-convention", "none", "--p-empty", "0", "--progress", "false"]) == 0
    recs = read_jsonl(out / "metadata.jsonl")
    assert all(r["ticker"] and not r["tags"] and r["convention"] == "none" for r in recs)
    assert {r["subtitle"]["style"] for r in recs} <= {"bar", "shadow_only"}
