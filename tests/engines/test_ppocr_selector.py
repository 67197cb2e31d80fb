"""The learned selector's parts on constructed detections: features, labels, the exported model, the choice."""

import json

import numpy as np
import pytest

from subtitle_vlm.engines.ppocr.colors import BoxColors
from subtitle_vlm.engines.ppocr.detection import Detection
from subtitle_vlm.engines.ppocr.selector import LearnedSelector
from subtitle_vlm.engines.ppocr.selector.choose import choose_lines
from subtitle_vlm.engines.ppocr.selector.evaluate import invented_marks, summarise
from subtitle_vlm.engines.ppocr.selector.features import FEATURES, frame_features, strip_stats
from subtitle_vlm.engines.ppocr.selector.labels import detection_roles
from subtitle_vlm.engines.ppocr.selector.model import SelectorModel, load_selector
from subtitle_vlm.io import InputError

W, H = 1280, 720
WHITE = BoxColors((250, 250, 250), 250.0, 0.0, 20.0, 0.25, 0.02)


def F(X, name):
    return X[:, FEATURES.index(name)]


def test_features_describe_place_text_and_neighbours():
    dets = [Detection((440, 560, 840, 610), "我們明天見", 0.98, WHITE),     # subtitle, upper line
            Detection((460, 618, 820, 668), "不見不散", 0.97, WHITE),       # its lower line
            Detection((0, 680, 1280, 718), "快訊 颱風明天登陸 快訊 颱風明", 0.9, None),  # ticker, edge to edge
            Detection((40, 30, 160, 60), "LIVE", 0.99, None)]
    X = frame_features(dets, W, H)
    assert X.shape == (4, len(FEATURES))
    assert F(X, "touches_left")[2] == 1 and F(X, "touches_right")[2] == 1 and F(X, "touches_left")[0] == 0
    assert F(X, "partner_below")[0] == 1 and F(X, "partner_above")[1] == 1 and F(X, "partner_above")[0] == 0
    assert F(X, "wide_below")[1] == 1 and F(X, "wide_below")[2] == 0
    assert F(X, "latin_frac")[3] == 1 and F(X, "cjk_frac")[0] == 1
    assert F(X, "has_colors")[0] == 1 and F(X, "has_colors")[2] == 0
    assert F(X, "same_text_elsewhere")[0] == 0
    assert frame_features([], W, H).shape == (0, len(FEATURES))


def test_strip_stats_tell_a_flat_band_from_a_scene():
    rng = np.random.default_rng(0)
    x = np.linspace(0, 255, W)[None, :, None]
    rgb = np.clip(np.concatenate([x, 255 - x, 0 * x], axis=2) + rng.normal(0, 20, (H, W, 3)), 0, 255).astype(np.uint8)
    rgb[660:720] = (20, 40, 160)                                 # a solid blue ticker band
    rgb[675:705:3, 100:400] = 255                                # its letters (a fifth of each column)
    band = strip_stats(rgb, (0, 665, W, 715))
    scene = strip_stats(rgb, (300, 300, 900, 340))
    assert band[0] > 0.9 > 0.5 > scene[0]  # a scene changes colour across the frame
    assert band[3] > 0.1  # the strip above the band looks different from it: the band has an edge


def test_detections_take_the_role_of_the_element_covering_them():
    elements = [{"role": "subtitle", "box": [450, 570, 830, 605], "text": "我們明天見"},
                {"role": "ticker", "box": [0, 684, 1280, 714], "text": "快訊"}]
    boxes = [(440, 560, 840, 612), (0, 680, 1280, 718), (40, 30, 160, 60), (780, 560, 1000, 612)]
    assert detection_roles(boxes, elements) == ["subtitle", "ticker", "none", "none"]


def _tiny_model(kind="logistic"):
    """A model whose score grows with cy (lower lines are likelier subtitles): enough to test the plumbing."""
    n = len(FEATURES)
    coef = np.zeros(n)
    coef[FEATURES.index("cy")] = 8.0
    coef[FEATURES.index("touches_left")] = -20.0
    return SelectorModel(kind, list(FEATURES), {"mean": [0.0] * n, "scale": [1.0] * n, "coef": coef.tolist(),
                                                 "intercept": -5.0}, threshold=0.5)


def test_choice_stacks_two_lines_and_rejects_the_rest_with_scores():
    dets = [Detection((440, 560, 840, 610), "我們明天見，", 0.98, WHITE),
            Detection((460, 618, 820, 668), "不見不散", 0.97, WHITE),
            Detection((0, 680, 1280, 718), "快訊颱風明天登陸", 0.9, None),
            Detection((40, 30, 160, 60), "LIVE", 0.99, None)]
    probs = np.array([0.9, 0.95, 0.3, 0.01])
    rows, rejected = choose_lines(dets, probs, 0.5)
    assert [r.text for r in rows] == ["我們明天見，", "不見不散"]
    assert sorted(t for t, _ in rejected) == sorted(["快訊颱風明天登陸", "LIVE"])
    assert all(why.startswith("score ") for _, why in rejected)
    # A second candidate far above the block is not stacked onto it.
    far = dets[:2] + [Detection((500, 100, 780, 150), "寶島漫遊記", 0.99, WHITE)]
    rows, rejected = choose_lines(far, np.array([0.9, 0.95, 0.6]), 0.5)
    assert [r.text for r in rows] == ["我們明天見，", "不見不散"]
    assert rejected == [("寶島漫遊記", "score 0.60, not part of the chosen block")]
    # Two boxes on one baseline are one row, read left to right with the gap as a space.
    split = [Detection((700, 600, 900, 650), "明天見", 0.9, WHITE), Detection((380, 600, 640, 650), "我們走吧", 0.9, WHITE)]
    rows, _ = choose_lines(split, np.array([0.9, 0.8]), 0.5)
    assert [r.text for r in rows] == ["我們走吧 明天見"]
    assert choose_lines(split, np.array([0.2, 0.1]), 0.5)[0] == []
    # Boxes that meet at a comma both read it: it is kept once; apart, or another mark, both stay.
    meet = [Detection((380, 600, 640, 650), "這個甜度剛剛好，", 0.9, WHITE),
            Detection((636, 600, 900, 650), "，一點都不膩。", 0.9, WHITE)]
    assert [r.text for r in choose_lines(meet, np.array([0.9, 0.8]), 0.5)[0]] == ["這個甜度剛剛好， 一點都不膩。"]
    assert LearnedSelector(_tiny_model(), max_lines=2).select_scored(meet, np.array([0.9, 0.8])).text == \
        "這個甜度剛剛好，一點都不膩。"  # the space beside a full-width mark goes in tidying
    apart = [meet[0], Detection((700, 600, 960, 650), "，一點都不膩。", 0.9, WHITE)]
    assert [r.text for r in choose_lines(apart, np.array([0.9, 0.8]), 0.5)[0]] == ["這個甜度剛剛好， ，一點都不膩。"]
    ascii_comma = [meet[0], Detection((636, 600, 900, 650), ",一點都不膩。", 0.9, WHITE)]  # read in either width
    assert [r.text for r in choose_lines(ascii_comma, np.array([0.9, 0.8]), 0.5)[0]] == ["這個甜度剛剛好， 一點都不膩。"]
    other = [meet[0], Detection((636, 600, 900, 650), "！一點都不膩。", 0.9, WHITE)]
    assert [r.text for r in choose_lines(other, np.array([0.9, 0.8]), 0.5)[0]] == ["這個甜度剛剛好， ！一點都不膩。"]


def test_learned_selector_end_to_end_on_constructed_frame():
    rgb = np.zeros((H, W, 3), np.uint8)
    dets = [Detection((40, 30, 200, 80), "新聞台", 0.99, WHITE), Detection((440, 600, 840, 650), "我們明天見", 0.98, WHITE)]
    sel = LearnedSelector(_tiny_model()).select(dets, rgb)
    assert sel.text == "我們明天見"
    assert sel.box == (440, 600, 840, 650)
    assert [t for t, _ in sel.rejected] == ["新聞台"]
    assert LearnedSelector(_tiny_model()).select([], rgb).text == ""


def test_model_files_round_trip_and_bad_files_are_named(tmp_path):
    m = _tiny_model()
    path = m.save(tmp_path / "sel")
    assert path.name == "selector.json"
    back = load_selector(tmp_path / "sel")
    X = frame_features([Detection((0, 600, 100, 650), "好", 0.9, None), Detection((500, 100, 600, 150), "好", 0.9, None)], W, H)
    assert np.allclose(back.predict_proba(X), m.predict_proba(X))
    assert ((back.predict_proba(X) >= 0) & (back.predict_proba(X) <= 1)).all()
    with pytest.raises(InputError, match="does not exist"):
        load_selector(tmp_path / "nowhere")
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="bad.json.*not a readable JSON"):
        load_selector(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"format": "x"}), encoding="utf-8")
    with pytest.raises(InputError, match="not a selector model"):
        load_selector(tmp_path / "other.json")
    d = m.to_dict()
    d["features"] = d["features"][:-1]
    (tmp_path / "old.json").write_text(json.dumps(d), encoding="utf-8")
    with pytest.raises(InputError, match="other features.*retrain"):
        load_selector(tmp_path / "old.json")


@pytest.mark.parametrize("kind", ["gbdt", "logistic"])
def test_exported_models_score_like_scikit_learn(kind):
    pytest.importorskip("sklearn")
    from subtitle_vlm.engines.ppocr.selector.train import fit_selector
    from subtitle_vlm.engines.ppocr.selector.train_selector_config import TrainSelectorConfig

    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, len(FEATURES))).astype(np.float32)
    y = (X[:, 1] + 0.5 * X[:, 7] > 0.2).astype(int)
    model = fit_selector(X, y, TrainSelectorConfig(frames=["x"], out="y", model=kind, n_estimators=20))
    assert model.recipe["export_max_abs_diff"] <= 1e-6
    p = model.predict_proba(X)
    assert ((p > 0.5) == y).mean() > 0.9  # it learned the rule, not just the prior
    with pytest.raises(ValueError, match="both subtitle lines and other lines"):
        fit_selector(X, np.zeros(len(X), int), TrainSelectorConfig(frames=["x"], out="y", model=kind))


def test_summary_counts_the_failures_that_matter():
    items = [{"gold": "我們明天見", "pred": "我們明天見。"},          # one invented mark
             {"gold": "不見不散", "pred": "", },                    # dropped
             {"gold": "", "pred": "快訊", "wrong_element": True},   # ticker read
             {"gold": "好", "pred": "好"}]
    s = summarise(items)
    assert s["dropped"] == pytest.approx(1 / 3, abs=1e-4) and s["wrong_element"] == 0.25
    assert s["invented_punct_per_100"] == 25.0 and s["exact"] == 0.25
    assert invented_marks("好，好。", "好，好") == 1 and invented_marks("好好", "好，好。") == 0
