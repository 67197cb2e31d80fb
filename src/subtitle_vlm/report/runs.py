"""What a report knows about one run: loss history, training time, peak memory, scores.

Where each thing is looked for (first hit wins), so a run directory written by ``subtitle-vlm train`` needs
no extra flags:

- loss log: ``trainer_state.json`` (its ``log_history``) in the run directory, else in its newest
  ``checkpoint-N/``; else a JSONL loss log in the run directory (``loss_log.jsonl``, ``log_history.jsonl``,
  ``train_log.jsonl``, ``metrics.jsonl``: one JSON object per line with ``step`` and ``loss`` or
  ``eval_*`` keys). A RUN given as a file is read as that log directly.
- training time: ``train_runtime`` (seconds) in the log or ``train_runtime`` / ``train_seconds`` in
  ``summary.json`` / ``run_summary.json`` / ``train_results.json`` / ``all_results.json``.
- peak memory: any ``peak_*mem*_<unit>`` / ``peak_*rss*_<unit>`` number (unit mb, mib, gb, gib or bytes;
  e.g. ``peak_gpu_memory_mb``, ``peak_cpu_rss_gb``) in ``summary.json`` (the trainer's) or the other
  summary files, at the top level or one level down, or in the log entries.
- scores: ``score.json`` or ``eval/score.json`` in the run directory (the JSON that
  ``subtitle-vlm score --out RUN/eval/score.json`` writes), or ``--score NAME=path.json`` on the command line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from subtitle_vlm.io import InputError, read_jsonl

LOSS_LOG_NAMES = ("loss_log.jsonl", "log_history.jsonl", "train_log.jsonl", "metrics.jsonl")
SUMMARY_NAMES = ("summary.json", "run_summary.json", "train_results.json", "all_results.json", "run_config.json")
SCORE_NAMES = ("score.json", "eval/score.json")
# A memory figure is any number under a key like peak_gpu_memory_mb / peak_cpu_rss_gib / peak_memory_bytes.
_MEMORY_KEY = re.compile(r"^(peak_.*(?:mem|rss).*?)_(mb|mib|gb|gib|bytes)$")
_TO_MIB = {"mb": 1.0, "mib": 1.0, "gb": 1024.0, "gib": 1024.0, "bytes": 1 / 2**20}


@dataclass
class RunInfo:
    name: str
    path: Path | None = None
    loss_source: Path | None = None
    train_loss: list[tuple[float, float]] = field(default_factory=list)   # (step, loss)
    eval_metrics: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # eval_x -> [(step, v)]
    train_seconds: float | None = None
    peak_memory_mb: dict[str, float] = field(default_factory=dict)        # key -> MiB
    score: dict | None = None
    score_source: Path | None = None
    base_model: str | None = None
    steps: int | None = None

    @property
    def final_loss(self) -> float | None:
        return self.train_loss[-1][1] if self.train_loss else None


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not a readable JSON file ({e}); fix or remove it") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object at the top level")
    return data


def _checkpoint_step(p: Path) -> int:
    m = re.search(r"checkpoint-(\d+)$", p.name)
    return int(m.group(1)) if m else -1


def find_loss_log(run: Path) -> Path | None:
    """The loss log of a run directory (see the module docstring for the search order)."""
    if (run / "trainer_state.json").is_file():
        return run / "trainer_state.json"
    ckpts = sorted((p for p in run.glob("checkpoint-*") if (p / "trainer_state.json").is_file()),
                   key=_checkpoint_step)
    if ckpts:
        return ckpts[-1] / "trainer_state.json"
    for name in LOSS_LOG_NAMES:
        if (run / name).is_file():
            return run / name
    return None


def read_log_history(path: Path) -> list[dict]:
    """Log entries from a ``trainer_state.json`` or a JSONL loss log."""
    if path.suffix == ".jsonl":
        return read_jsonl(path, tolerate_partial_last_line=True)
    data = _read_json(path)
    hist = data.get("log_history")
    if not isinstance(hist, list):
        raise InputError(f"{path}: no 'log_history' list; pass a trainer_state.json or a JSONL loss log")
    return [h for h in hist if isinstance(h, dict)]


def _num(v) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def parse_history(hist: list[dict], info: RunInfo) -> None:
    for i, rec in enumerate(hist):
        step = _num(rec.get("step"))
        step = float(i) if step is None else step
        loss = _num(rec.get("loss"))
        if loss is None:
            loss = _num(rec.get("train_loss")) if "train_runtime" not in rec else None
        if loss is not None:
            info.train_loss.append((step, loss))
        for k, v in rec.items():
            if k.startswith("eval_") and k not in ("eval_runtime", "eval_samples_per_second",
                                                   "eval_steps_per_second") and _num(v) is not None:
                info.eval_metrics.setdefault(k, []).append((step, float(v)))
        if _num(rec.get("train_runtime")) is not None:
            info.train_seconds = float(rec["train_runtime"])
        _take_memory(rec, info)
        if step is not None:
            info.steps = int(max(info.steps or 0, step))


# The trainer's summary says what its peak_memory_mb measured.
_KIND_LABELS = {"cuda_max_allocated": "peak_gpu", "cpu_max_rss": "peak_cpu_rss"}


def _take_memory(rec: dict, info: RunInfo) -> None:
    for k, v in rec.items():
        m = _MEMORY_KEY.match(str(k).lower())
        if m and _num(v) is not None:
            what = m.group(1)
            if what == "peak_memory" and rec.get("peak_memory_kind") in _KIND_LABELS:
                what = _KIND_LABELS[rec["peak_memory_kind"]]
            info.peak_memory_mb[what] = max(info.peak_memory_mb.get(what, 0.0), float(v) * _TO_MIB[m.group(2)])


def _take_summary(data: dict, info: RunInfo) -> None:
    if info.train_seconds is None:
        for k in ("train_runtime", "train_seconds", "train_time_s", "seconds"):
            if _num(data.get(k)) is not None:
                info.train_seconds = float(data[k])
                break
    _take_memory(data, info)
    for sub in data.values():
        if isinstance(sub, dict):
            _take_memory(sub, info)
    if info.base_model is None:
        for k in ("base_model", "model_name_or_path", "model"):
            if isinstance(data.get(k), str):
                info.base_model = data[k]
                break


def read_score(path: Path) -> dict:
    data = _read_json(path)
    if _num(data.get("mean_levenshtein")) is None and _num(data.get("cer")) is None:
        raise InputError(f"{path}: not a score file (no 'mean_levenshtein' or 'cer'); "
                         "write one with: subtitle-vlm score --gold G --pred P --out this.json")
    return data


def load_run(path: str | Path, name: str | None = None) -> RunInfo:
    """Collect what is known about a run directory (or a single loss-log file)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such run directory or loss log")
    info = RunInfo(name=name or (path.name if path.is_dir() else path.parent.name or path.stem), path=path)
    if path.is_file():
        info.loss_source = path
        parse_history(read_log_history(path), info)
        return info
    log_path = find_loss_log(path)
    if log_path is not None:
        info.loss_source = log_path
        parse_history(read_log_history(log_path), info)
    for n in SUMMARY_NAMES:
        if (path / n).is_file():
            _take_summary(_read_json(path / n), info)
    if (path / "run_config.json").is_file():
        name = _read_json(path / "run_config.json").get("base_model_name")
        if isinstance(name, str) and name:
            info.base_model = name  # what the user asked for (tiny:qwen2_vl, a hub id), not a cache path
    for n in SCORE_NAMES:
        if (path / n).is_file():
            info.score, info.score_source = read_score(path / n), path / n
            break
    return info


__all__ = ["RunInfo", "load_run", "read_score", "find_loss_log", "read_log_history", "parse_history"]
