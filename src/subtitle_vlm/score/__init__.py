"""Metrics: mean Levenshtein distance per row (the competition metric), CER, exact match."""

from subtitle_vlm.text.metrics import ScoreReport, cer, levenshtein, score_predictions

__all__ = ["ScoreReport", "cer", "levenshtein", "score_predictions"]
