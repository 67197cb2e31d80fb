"""Fit a selector model on cached detections of synthetic frame sets, export it as plain arrays.

    rows = detect_frame_set("data/synth", cache)          # detections.py (slow part, cached)
    X, y, groups = build_dataset(rows)                    # features + labels from the records
    model = fit_selector(X, y, TrainSelectorConfig(...))  # scikit-learn, exported to a SelectorModel

The exported model is checked against scikit-learn's own scores before it is returned, so the numpy
scorer the engine uses is the model that was trained.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from subtitle_vlm.engines.ppocr.selector.detections import det_from_json
from subtitle_vlm.engines.ppocr.selector.features import FEATURES, frame_features
from subtitle_vlm.engines.ppocr.selector.labels import detection_roles, record_elements
from subtitle_vlm.engines.ppocr.selector.model import SelectorModel
from subtitle_vlm.engines.ppocr.text import fix_lookalikes


def row_detections(row: dict):
    """(detections with look-alikes fixed, strips) of one cached frame row."""
    dets = [det_from_json(d) for d in row["dets"]]
    for d in dets:
        d.text = fix_lookalikes(d.text)
    return dets, [d["strip"] for d in row["dets"]]


def build_dataset(rows: Sequence[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(X lines x features, y 1 for subtitle lines, the frame index of each line, each line's role)."""
    Xs, ys, groups, roles = [], [], [], []
    for gi, row in enumerate(rows):
        dets, strips = row_detections(row)
        if not dets:
            continue
        X = frame_features(dets, row["w"], row["h"], strips)
        r = detection_roles([d.box for d in dets], record_elements(row["record"]))
        Xs.append(X)
        ys.append(np.array([x == "subtitle" for x in r], dtype=np.int8))
        groups.append(np.full(len(dets), gi))
        roles += r
    if not Xs:
        return (np.zeros((0, len(FEATURES)), np.float32), np.zeros(0, np.int8), np.zeros(0, int), [])
    return np.concatenate(Xs), np.concatenate(ys), np.concatenate(groups), roles


def _export_gbdt(clf) -> dict:
    prior = float(clf.init_.class_prior_[1])
    trees = []
    for est in clf.estimators_[:, 0]:
        t = est.tree_
        trees.append({"feature": t.feature.tolist(), "threshold": [float(v) for v in t.threshold],
                      "left": t.children_left.tolist(), "right": t.children_right.tolist(),
                      "value": [float(v) for v in t.value[:, 0, 0]], "depth": int(t.max_depth)})
    return {"init": float(np.log(prior / (1 - prior))), "learning_rate": float(clf.learning_rate), "trees": trees}


def fit_selector(X: np.ndarray, y: np.ndarray, cfg, features: Sequence[str] = FEATURES) -> SelectorModel:
    """Train ``cfg.model`` on (X, y) and export it; raises when the export does not reproduce it."""
    try:
        from sklearn.ensemble import GradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression
    except ImportError as e:
        raise ImportError("training a selector needs scikit-learn: pip install 'subtitle-vlm[selector]' "
                          f"({e}); using one does not") from None
    if len(set(y.tolist())) < 2:
        raise ValueError("the training frames need both subtitle lines and other lines; these have "
                         f"{'only subtitle' if y.any() else 'no subtitle'} lines (check the frame sets' records)")
    if cfg.model == "logistic":
        mean, scale = X.mean(axis=0).astype(np.float64), X.std(axis=0).astype(np.float64)
        scale[scale == 0] = 1.0
        clf = LogisticRegression(max_iter=5000, C=1.0)
        clf.fit((X - mean) / scale, y)
        params = {"mean": mean.tolist(), "scale": scale.tolist(), "coef": clf.coef_[0].tolist(),
                  "intercept": float(clf.intercept_[0])}
        reference = clf.decision_function((X - mean) / scale)
    else:
        clf = GradientBoostingClassifier(n_estimators=cfg.n_estimators, max_depth=cfg.max_depth,
                                         learning_rate=cfg.learning_rate, subsample=0.8, random_state=cfg.seed)
        clf.fit(X, y)
        params = _export_gbdt(clf)
        reference = clf.decision_function(X)
    model = SelectorModel(kind=cfg.model, features=list(features), params=params, threshold=cfg.threshold)
    check = slice(0, min(len(X), 2000))
    gap = float(np.max(np.abs(model.raw(X[check]) - reference[check]))) if len(X) else 0.0
    if gap > 1e-6:
        raise RuntimeError(f"exported selector disagrees with scikit-learn by {gap:g}; not saved")
    model.recipe["export_max_abs_diff"] = gap
    return model


def fit_with_pairs(rows: Sequence[dict], cfg) -> SelectorModel:
    """The line model on all ``rows`` and the pair model (pairs.py) beside it. The pair model sees line
    scores as the line model gives them on frames it did not train on (two folds of frames), so it learns
    how far to trust them."""
    from subtitle_vlm.engines.ppocr.selector.pairs import frame_pairs

    X, y, groups, roles = build_dataset(rows)
    if len(X) == 0:
        raise ValueError("no text lines were detected in the training frames: nothing to learn from")
    model = fit_selector(X, y, cfg)
    model.recipe.update({"train_lines": int(len(X)), "subtitle_lines": int(y.sum()),
                         "roles": {r: roles.count(r) for r in sorted(set(roles))}})
    oof = np.zeros(len(X))
    folds = groups % 2
    if len(set(folds.tolist())) == 2 and all(len(set(y[folds == f].tolist())) == 2 for f in (0, 1)):
        for f in (0, 1):
            part = fit_selector(X[folds != f], y[folds != f], cfg)
            oof[folds == f] = part.predict_proba(X[folds == f])
    else:  # too few frames to hold any out
        oof = model.predict_proba(X)
    PX, PY = [], []
    start = 0
    for gi, row in enumerate(rows):
        dets, strips = row_detections(row)
        if not dets:
            continue
        n = len(dets)
        probs = oof[start:start + n]
        labels = y[start:start + n]
        start += n
        anchors = [i for i in range(n) if labels[i]]
        px, idx = frame_pairs(dets, probs, strips, row["w"], row["h"], anchors)
        if len(px):
            PX.append(px)
            PY.append(np.array([labels[j] for _, j in idx], dtype=np.int8))
    if PX:
        PXa, PYa = np.concatenate(PX), np.concatenate(PY)
        if len(set(PYa.tolist())) == 2:
            from subtitle_vlm.engines.ppocr.selector.pairs import PAIR_FEATURES

            pair = fit_selector(PXa, PYa, cfg, features=PAIR_FEATURES)
            model.pair = pair
            model.recipe["pairs"] = {"pairs": int(len(PXa)), "same_subtitle": int(PYa.sum())}
    return model


def feature_importance(model: SelectorModel, top: int = 12) -> list[tuple[str, float]]:
    """Share of splits per feature (gbdt) or |standardised coefficient| (logistic), largest first."""
    if model.kind == "logistic":
        w = np.abs(np.asarray(model.params["coef"]))
    else:
        w = np.zeros(len(model.features))
        for t in model.params["trees"]:
            for f, left in zip(t["feature"], t["left"]):
                if left >= 0:
                    w[f] += 1
    w = w / max(1e-12, w.sum())
    order = np.argsort(-w)[:top]
    return [(model.features[i], round(float(w[i]), 4)) for i in order]


__all__ = ["build_dataset", "feature_importance", "fit_selector", "fit_with_pairs", "row_detections"]
