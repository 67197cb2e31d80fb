"""The recogniser's dictionary: CTC class k <-> character, labels encoded against it, greedy decoding.

PP-OCR stores its character list in the ONNX file's metadata (key ``character``, one entry a line). The CTC
classes are: 0 = blank, 1..N = those entries in order, N + 1 = a space (PP-OCR appends it). A
``rec_keys.txt`` written beside an exported model holds the same N entries, one a line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from subtitle_vlm.io import InputError, atomic_write_text

KEYS_NAME = "rec_keys.txt"
BLANK = 0


def characters_from_onnx(model) -> list[str]:
    """The character list inside an ``onnx.ModelProto`` (or a path to one)."""
    import onnx

    if not hasattr(model, "metadata_props"):
        model = onnx.load(str(model), load_external_data=False)
    for p in model.metadata_props:
        if p.key == "character":
            return p.value.splitlines()
    raise InputError("the recognition model has no 'character' metadata; pass a PP-OCR rec model exported "
                     "with its dictionary (rapidocr's PP-OCRv6_rec_small.onnx has one)")


def read_keys(path: str | Path) -> list[str]:
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise InputError(f"{path}: cannot read the dictionary ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: the dictionary is not UTF-8 ({e})") from None
    # One entry a line; an entry may itself be a space-like character, so only line ends are stripped.
    return [line.rstrip("\r") for line in text.split("\n")[:-1]] if text.endswith("\n") else \
        [line.rstrip("\r") for line in text.split("\n")]


def write_keys(path: str | Path, characters: list[str]) -> None:
    atomic_write_text(path, "".join(c + "\n" for c in characters))


@dataclass
class Charset:
    characters: list[str]
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self):
        self.index = {}
        for i, c in enumerate(self.characters):
            self.index.setdefault(c, i + 1)
        self.index.setdefault(" ", len(self.characters) + 1)

    @property
    def num_classes(self) -> int:
        return len(self.characters) + 2

    def char_of(self, k: int) -> str:
        if k == BLANK:
            return ""
        if k == len(self.characters) + 1:
            return " "
        return self.characters[k - 1]

    def encode(self, text: str) -> tuple[list[int], str]:
        """(class ids, characters of ``text`` the dictionary lacks, in order)."""
        ids, missing = [], []
        for c in text:
            k = self.index.get(c)
            if k is None:
                missing.append(c)
            else:
                ids.append(k)
        return ids, "".join(missing)

    def text_of(self, ids) -> str:
        """A label's text (no CTC merging: a label may repeat a character)."""
        return "".join(self.char_of(int(k)) for k in ids)

    def decode(self, ids) -> str:
        """Greedy CTC: merge repeats, drop blanks."""
        out, prev = [], None
        for k in ids:
            k = int(k)
            if k != prev and k != BLANK:
                out.append(self.char_of(k))
            prev = k
        return "".join(out)


@dataclass
class LabelReport:
    """Which characters of the labels the dictionary cannot express, and in which lines."""
    lines_total: int = 0
    lines_with_missing: int = 0
    missing: Counter = field(default_factory=Counter)
    examples: list[dict] = field(default_factory=list)

    def add(self, where: str, text: str, missing: str) -> None:
        self.lines_total += 1
        if missing:
            self.lines_with_missing += 1
            self.missing.update(missing)
            if len(self.examples) < 10:
                self.examples.append({"where": where, "text": text, "missing": missing})

    def as_dict(self) -> dict:
        return {"lines_total": self.lines_total, "lines_with_missing_characters": self.lines_with_missing,
                "missing_characters": dict(self.missing.most_common()), "examples": self.examples}
