"""Sentence sources: a UTF-8 text file (one a line), the original TSV (``name<TAB>sentence``), or the
built-in Traditional Chinese corpus; then conversion, dedupe and a length filter."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from subtitle_vlm.io import InputError

# The corpus we wrote: natural zh-TW subtitle lines in several registers (one a line, '#' comments).
BUILTIN_CORPUS = Path(__file__).resolve().parent / "assets" / "sentences_zh_tw.txt"


def _read_lines(path: Path) -> list[tuple[int, str]]:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    out = []
    for i, line in enumerate(raw.split(b"\n"), 1):
        try:
            s = line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"{path}:{i}: not UTF-8 (byte {e.start}); convert the file to UTF-8, "
                             "e.g. iconv -f BIG5 -t UTF-8") from None
        out.append((i, s.rstrip("\r")))
    return out


def load_sentences(source: str | Path | None = None) -> list[str]:
    """Sentences from ``source`` (None: the built-in corpus). A ``.tsv`` file is read as ``name<TAB>sentence``.

    Blank lines and lines starting with ``#`` are skipped. Raises InputError naming the file and line.
    """
    path = Path(source) if source else BUILTIN_CORPUS
    if not path.is_file():
        raise InputError(f"{path}: sentence file not found; pass --sentences FILE (text or .tsv)")
    tsv = path.suffix.lower() == ".tsv"
    sentences = []
    for lineno, line in _read_lines(path):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if tsv:
            if "\t" not in line:
                raise InputError(f"{path}:{lineno}: expected 'name<TAB>sentence'")
            line = line.split("\t", 1)[1]
        sentences.append(line.strip())
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
