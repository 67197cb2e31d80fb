"""Cue lists in and out: SRT, WebVTT and JSON, written atomically, read with messages naming file and line.

Times are seconds (float). A cue covers [start, end): ``end`` is the first instant the subtitle is gone,
so a cue shown on frames a..b of a constant-rate video is [a/fps, (b+1)/fps).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from subtitle_vlm.io import InputError, atomic_write_text

FORMATS = ("srt", "vtt", "json")


@dataclass
class Cue:
    start: float
    end: float
    text: str
    # Anything the producer wants to keep beside the cue (frame times, reads, confidence, ...).
    extra: dict = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.end - self.start


def format_timestamp(seconds: float, sep: str = ",") -> str:
    """``HH:MM:SS,mmm`` (SRT) or ``HH:MM:SS.mmm`` (WebVTT, sep='.'), rounded to the millisecond."""
    ms = max(0, int(round(seconds * 1000)))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


_TS = re.compile(r"^\s*(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})\s*$")


def parse_timestamp(text: str) -> float:
    m = _TS.match(text)
    if not m:
        raise ValueError(f"bad timestamp {text.strip()!r}; expected HH:MM:SS,mmm")
    h, mi, s, frac = m.groups()
    return int(h or 0) * 3600 + int(mi) * 60 + int(s) + int(frac.ljust(3, "0")) / 1000


def to_srt(cues: list[Cue]) -> str:
    blocks = []
    for i, c in enumerate(cues, 1):
        blocks.append(f"{i}\n{format_timestamp(c.start)} --> {format_timestamp(c.end)}\n{c.text}\n")
    return "\n".join(blocks)


def to_vtt(cues: list[Cue]) -> str:
    blocks = ["WEBVTT\n"]
    for i, c in enumerate(cues, 1):
        # A line holding only "-->" or a blank line would end the cue early; neither occurs in one subtitle line.
        blocks.append(f"{i}\n{format_timestamp(c.start, '.')} --> {format_timestamp(c.end, '.')}\n{c.text}\n")
    return "\n".join(blocks)


def to_json(cues: list[Cue], meta: dict | None = None) -> str:
    rows = []
    for c in cues:
        row = {"start": round(c.start, 6), "end": round(c.end, 6), "text": c.text}
        row.update(c.extra)
        rows.append(row)
    return json.dumps({"meta": meta or {}, "cues": rows}, ensure_ascii=False, indent=2) + "\n"


def format_for(path: str | Path, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise InputError(f"unknown subtitle format {fmt!r}; choose one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "srt"


def is_cue_file(path: str | Path, fmt: str) -> bool:
    """Whether ``path`` holds what ``write_cues`` writes in ``fmt`` (an earlier output that may be replaced):
    SRT or WebVTT cues (an empty file is a cue list with no cue), or a JSON object with a ``cues`` list."""
    text = Path(path).read_text(encoding="utf-8")
    if fmt == "json":
        obj = json.loads(text)
        return isinstance(obj, dict) and isinstance(obj.get("cues"), list)
    if fmt == "vtt" and text.strip() and not text.lstrip("\ufeff").startswith("WEBVTT"):
        return False
    parse_srt_text(text, str(path))  # raises on anything that is not cue blocks
    return True


def check_cue_output(path: str | Path, fmt: str, *, flag: str, command: str, inputs=(), outputs=(),
                     overwrite: bool = False) -> Path:
    """``io.check_output`` for a subtitle file in ``fmt``: a name with that format's suffix (or none)."""
    from subtitle_vlm.io import check_output

    return check_output(path, flag=flag, command=command, inputs=inputs, outputs=outputs,
                        suffixes=(f".{fmt}", ""), kind=fmt.upper() if fmt != "json" else "JSON cue",
                        overwrite=overwrite, ours=lambda p: is_cue_file(p, fmt))


def write_cues(path: str | Path, cues: list[Cue], fmt: str | None = None, meta: dict | None = None) -> None:
    fmt = format_for(path, fmt)
    text = {"srt": to_srt, "vtt": to_vtt}[fmt](cues) if fmt != "json" else to_json(cues, meta)
    atomic_write_text(path, text)


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Split into blank-line separated blocks, keeping the 1-based line number each starts at."""
    out, cur, start = [], [], 0
    for i, line in enumerate(lines, 1):
        if line.strip():
            if not cur:
                start = i
            cur.append(line)
        elif cur:
            out.append((start, cur))
            cur = []
    if cur:
        out.append((start, cur))
    return out


def parse_srt_text(text: str, source: str = "<srt>") -> list[Cue]:
    """Parse SRT or WebVTT text (cue numbers optional, CRLF and BOM tolerated, multi-line text joined by
    newlines); a block without a valid ``start --> end`` line is an InputError naming the line."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cues = []
    for start_line, block in _blocks(lines):
        head = block[0].strip()
        if head.startswith("WEBVTT") or head.startswith("NOTE") or head in ("STYLE", "REGION"):
            continue
        arrow = next((k for k, l in enumerate(block[:2]) if "-->" in l), None)
        if arrow is None:
            raise InputError(f"{source}:{start_line}: expected a 'HH:MM:SS,mmm --> HH:MM:SS,mmm' line in this cue")
        lineno = start_line + arrow
        left, _, right = block[arrow].partition("-->")
        right = right.strip().split()[0] if right.strip() else ""  # WebVTT cue settings follow the end time
        try:
            t0, t1 = parse_timestamp(left), parse_timestamp(right)
        except ValueError as e:
            raise InputError(f"{source}:{lineno}: {e}") from None
        if t1 < t0:
            raise InputError(f"{source}:{lineno}: cue ends ({right}) before it starts ({left.strip()})")
        cues.append(Cue(t0, t1, "\n".join(l.strip() for l in block[arrow + 1:])))
    return cues


def parse_json_cues(text: str, source: str = "<json>") -> list[Cue]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{source}:{e.lineno}: not valid JSON ({e.msg})") from None
    rows = data.get("cues") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise InputError(f"{source}: expected a list of cues or an object with a 'cues' list")
    cues = []
    for i, r in enumerate(rows):
        try:
            extra = {k: v for k, v in r.items() if k not in ("start", "end", "text")}
            cues.append(Cue(float(r["start"]), float(r["end"]), str(r.get("text", "")), extra))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InputError(f"{source}: cue {i}: needs numeric 'start' and 'end' (seconds) and 'text'") from None
    return cues


def read_cues(path: str | Path) -> list[Cue]:
    """Read an SRT, WebVTT or JSON cue file (by suffix; SRT otherwise), sorted by start time."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: subtitle file not found; check the path")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 (byte {e.start}); save it as UTF-8") from None
    if path.suffix.lower() == ".json":
        cues = parse_json_cues(text, str(path))
    else:
        cues = parse_srt_text(text, str(path))
    return sorted(cues, key=lambda c: (c.start, c.end))


__all__ = ["Cue", "FORMATS", "format_timestamp", "parse_timestamp", "to_srt", "to_vtt", "to_json",
           "write_cues", "read_cues", "parse_srt_text", "parse_json_cues", "format_for"]
