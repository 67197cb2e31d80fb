"""subtitle-vlm report RUN_DIR [RUN_DIR ...] --out DIR [--score NAME=score.json ...]

Puts runs side by side: a Markdown table (scores, training time, peak memory, steps, final loss) and PNGs
(loss curves, evaluation curves, score bars) in DIR. A RUN is a training run directory (or a merged model
directory, or a prediction folder) or a single loss log (trainer_state.json or JSONL). Where each number is
looked for is in ``subtitle_vlm.report.runs``; a score file is ``RUN/eval/score.json`` by convention, written by

    subtitle-vlm score --gold val.csv --pred RUN/eval/pred.csv --out RUN/eval/score.json

``--score NAME=path.json`` adds a score to the run named NAME, or a scores-only row (e.g. a PP-OCR baseline).
``--name`` relabels runs (one per RUN, in order).

Single run, loss curve only:

    subtitle-vlm report runs/tiny/trainer_state.json --loss-png runs/tiny/loss.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from subtitle_vlm.io import InputError, atomic_write_text
from subtitle_vlm.report.runs import RunInfo, load_run, read_score


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.2f} h"


def _fmt_mem(m: dict[str, float]) -> str:
    if not m:
        return "-"
    parts = []
    for k, v in sorted(m.items()):
        label = k.replace("peak_", "").replace("_memory", "").replace("memory", "").strip("_") or "peak"
        parts.append(f"{label} {v / 1024:.2f} GiB" if v >= 1024 else f"{label} {v:.0f} MiB")
    return ", ".join(parts)


def _fmt(v, fmt: str) -> str:
    return format(v, fmt) if isinstance(v, (int, float)) and not isinstance(v, bool) else "-"


def _cell(s: str) -> str:
    return s.replace("|", "\\|")


def markdown_table(runs: list[RunInfo]) -> str:
    lines = ["| run | base model | mean Levenshtein | CER | exact match | rows | training time | peak memory "
             "| steps | final loss |",
             "|---|---|---:|---:|---:|---:|---:|---|---:|---:|"]
    for r in runs:
        s = r.score or {}
        lines.append("| " + " | ".join([
            _cell(r.name), _cell(r.base_model or "-"), _fmt(s.get("mean_levenshtein"), ".4f"),
            _fmt(s.get("cer"), ".4f"), _fmt(s.get("exact_match"), ".2%"), _fmt(s.get("rows"), "d"),
            _fmt_seconds(r.train_seconds), _fmt_mem(r.peak_memory_mb),
            str(r.steps) if r.steps is not None else "-", _fmt(r.final_loss, ".4f")]) + " |")
    return "\n".join(lines)


def build_report(runs: list[RunInfo], out: Path) -> Path:
    """Write DIR/report.md plus its PNGs; returns the Markdown path."""
    from subtitle_vlm.report.plots import eval_curves_png, loss_curves_png, scores_png

    out.mkdir(parents=True, exist_ok=True)
    md = ["# Run comparison", "", markdown_table(runs), "",
          "Mean Levenshtein is the competition metric (mean edit distance per row); CER is total edits over "
          "total gold characters. Lower is better for both.", ""]
    figures = [("Training loss", loss_curves_png(runs, out / "loss_curves.png")),
               ("Evaluation during training", eval_curves_png(runs, out / "eval_curves.png")),
               ("Scores", scores_png(runs, out / "scores.png"))]
    for title, png in figures:
        if png is not None:
            md += [f"## {title}", "", f"![{title}]({png.name})", ""]
    md += ["## Sources", ""]
    for r in runs:
        src = [f"loss: `{r.loss_source}`" if r.loss_source else "loss: none found",
               f"score: `{r.score_source}`" if r.score_source else "score: none found"]
        md.append(f"- **{_cell(r.name)}** (`{r.path}`): " + "; ".join(src))
    path = out / "report.md"
    atomic_write_text(path, "\n".join(md) + "\n")
    return path


def parse_score_args(pairs: list[str]) -> list[tuple[str, Path]]:
    out = []
    for p in pairs:
        name, sep, path = p.partition("=")
        if not sep or not name or not path:
            raise InputError(f"--score {p!r}: write it as NAME=path/to/score.json")
        out.append((name, Path(path)))
    return out


def collect_runs(paths: list[str], names: list[str] | None, scores: list[str]) -> list[RunInfo]:
    if names and len(names) != len(paths):
        raise InputError(f"--name got {len(names)} labels for {len(paths)} runs; give one per RUN")
    runs = [load_run(p, names[i] if names else None) for i, p in enumerate(paths)]
    seen: set[str] = set()
    for r in runs:
        if r.name in seen:
            raise InputError(f"two runs are both named {r.name!r}; label them with --name")
        seen.add(r.name)
    by_name = {r.name: r for r in runs}
    for name, path in parse_score_args(scores):
        if not path.is_file():
            raise InputError(f"--score {name}={path}: no such file")
        run = by_name.get(name)
        if run is None:
            run = by_name[name] = RunInfo(name=name, path=path.parent)
            runs.append(run)
        run.score, run.score_source = read_score(path), path
    return runs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="subtitle-vlm report", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="*", metavar="RUN", help="run directories or loss logs")
    p.add_argument("--out", help="folder for report.md and its PNGs")
    p.add_argument("--score", action="append", default=[], metavar="NAME=PATH",
                   help="score JSON for the run named NAME (or a scores-only row); repeatable")
    p.add_argument("--name", action="append", default=[], help="label for each RUN, in order; repeatable")
    p.add_argument("--loss-png", help="single run: write only its loss curve to this PNG")
    a = p.parse_args(argv)
    if a.loss_png:
        if len(a.runs) != 1:
            raise InputError("--loss-png takes exactly one RUN (a run directory or loss log)")
        from subtitle_vlm.report.plots import loss_curves_png

        run = load_run(a.runs[0], a.name[0] if a.name else None)
        if not run.train_loss:
            raise InputError(f"{a.runs[0]}: no training loss found; pass a trainer_state.json, a JSONL loss "
                             "log, or a run directory holding one")
        loss_curves_png([run], a.loss_png, title=f"training loss: {run.name}")
        print(f"report: wrote {a.loss_png} ({len(run.train_loss)} points from {run.loss_source})", file=sys.stderr)
        return 0
    if not a.out:
        p.error("--out DIR is required (or --loss-png FILE for a single loss curve)")
    if not a.runs and not a.score:
        p.error("give at least one RUN or --score NAME=PATH")
    runs = collect_runs(a.runs, a.name or None, a.score)
    md = build_report(runs, Path(a.out))
    print(Path(md).read_text(encoding="utf-8").split("\n## ")[0].strip())
    print(f"report: wrote {md}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
