"""Sentence sources: a UTF-8 text file (one a line), the original TSV (``name<TAB>sentence``), or the
built-in Traditional Chinese corpus; then conversion, dedupe and a length filter."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from subtitle_vlm.io import InputError, iter_lines, utf8_error

# The corpus we wrote: natural zh-TW subtitle lines in several registers (one a line, '#' comments).
BUILTIN_CORPUS = Path(__file__).resolve().parent / "assets" / "sentences_zh_tw.txt"


def _control_char(s: str) -> str | None:
    """The first control character in ``s`` (tabs, NULs...): fonts have no glyph for them and a label file
    cannot hold them."""
    return next((c for c in s if unicodedata.category(c) == "Cc"), None)


def load_sentences(source: str | Path | None = None) -> list[str]:
    """Sentences from ``source`` (None: the built-in corpus). A ``.tsv`` file is read as ``name<TAB>sentence``.

    Blank lines and lines starting with ``#`` are skipped. Raises InputError naming the file and line.
    """
    path = Path(source) if source else BUILTIN_CORPUS
    if not path.exists():
        raise InputError(f"{path}: sentence file not found; pass --sentences FILE (text or .tsv)")
    tsv = path.suffix.lower() == ".tsv"
    raw_lines = list(iter_lines(path, "sentence file (text or .tsv)"))
    sentences = []
    for lineno, raw in raw_lines:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise utf8_error(path, raw, e, line=lineno) from None
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if tsv:
            if "\t" not in line:
                raise InputError(f"{path}:{lineno}: expected 'name<TAB>sentence'")
            line = line.split("\t", 1)[1]
        line = line.strip()
        bad = _control_char(line)
        if bad:
            where = "a second TAB" if bad == "\t" and tsv else f"the control character U+{ord(bad):04X}"
            raise InputError(f"{path}:{lineno}: the sentence holds {where}; remove it (a subtitle is plain text"
                             + (", one TAB separates name and sentence)" if tsv else ")"))
        sentences.append(line)
    return sentences


@dataclass
class PreparedSentences:
    sentences: list[str]
    dropped: dict[str, int] = field(default_factory=dict)


def prepare_sentences(sentences: list[str], *, convert: str | None = None, min_len: int = 1,
                      max_len: int = 1000, dedupe: bool = True) -> PreparedSentences:
    """Convert script (OpenCC config such as ``s2twp``), drop duplicates and out-of-range lengths."""
    dropped = {"duplicate": 0, "too_short": 0, "too_long": 0}
    if convert:
        from subtitle_vlm.text.convert import convert as occ

        sentences = [occ(s, convert) for s in sentences]
    seen: set[str] = set()
    out: list[str] = []
    for s in sentences:
        if len(s) < min_len:
            dropped["too_short"] += 1
            continue
        if len(s) > max_len:
            dropped["too_long"] += 1
            continue
        if dedupe:
            if s in seen:
                dropped["duplicate"] += 1
                continue
            seen.add(s)
        out.append(s)
    return PreparedSentences(out, {k: v for k, v in dropped.items() if v})
