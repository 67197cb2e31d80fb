"""PNG figures of runs: loss curves, evaluation curves, score bars (matplotlib, Agg, atomic writes)."""

from __future__ import annotations

import io
from pathlib import Path

from subtitle_vlm.io import atomic_write_bytes
from subtitle_vlm.report.runs import RunInfo


# Metrics worth a panel, in this order (counts like eval_generated_samples are left out when these exist).
EVAL_PANELS = ("eval_loss", "eval_cer", "eval_mean_levenshtein", "eval_exact_match")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path


def smooth(values: list[float], window: int) -> list[float]:
    """Trailing moving average (the raw curve of a tiny batch is too noisy to read)."""
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        out.append(acc / min(i + 1, window))
    return out


def loss_curves_png(runs: list[RunInfo], path: str | Path, title: str = "training loss") -> Path | None:
    """One line per run (raw faint, smoothed bold); None when no run has a loss log."""
    runs = [r for r in runs if r.train_loss]
    if not runs:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in runs:
        steps = [s for s, _ in r.train_loss]
        losses = [v for _, v in r.train_loss]
        window = max(1, len(losses) // 20)
        line, = ax.plot(steps, losses, alpha=0.3 if window > 1 else 1.0, linewidth=1)
        if window > 1:
            ax.plot(steps, smooth(losses, window), color=line.get_color(), linewidth=2,
                    label=f"{r.name} (mean of {window})")
        else:
            line.set_label(r.name)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    values = [v for r in runs for _, v in r.train_loss]
    if min(values) > 0 and max(values) / min(values) > 10:  # a log axis only helps across magnitudes
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, Path(path))


def eval_curves_png(runs: list[RunInfo], path: str | Path) -> Path | None:
    """Evaluation metrics logged during training (eval_loss, eval_cer, ...), one panel each."""
    found = {k for r in runs for k in r.eval_metrics}
    keys = [k for k in EVAL_PANELS if k in found] or sorted(found)
    if not keys:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.5), squeeze=False)
    for ax, k in zip(axes[0], keys):
        for r in runs:
            pts = r.eval_metrics.get(k)
            if pts:
                ax.plot([s for s, _ in pts], [v for _, v in pts], marker="o", label=r.name)
        ax.set_title(k)
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    return _save(fig, Path(path))


def scores_png(runs: list[RunInfo], path: str | Path) -> Path | None:
    """Bars of mean Levenshtein and CER per run (lower is better)."""
    scored = [r for r in runs if r.score]
    if not scored:
        return None
    plt = _pyplot()
    metrics = [m for m in ("mean_levenshtein", "cer") if any(isinstance(r.score.get(m), (int, float)) for r in scored)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.5), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        names = [r.name for r in scored]
        vals = [float(r.score.get(m) or 0.0) for r in scored]
        bars = ax.bar(range(len(names)), vals, color="#4c72b0")
        ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
        ax.bar_label(bars, fmt="%.3g")
        ax.set_title(f"{m.replace('_', ' ')} (lower is better)")
        ax.grid(True, axis="y", alpha=0.3)
    return _save(fig, Path(path))


__all__ = ["loss_curves_png", "eval_curves_png", "scores_png", "smooth"]
