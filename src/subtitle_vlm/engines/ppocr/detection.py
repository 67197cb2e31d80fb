"""What the PP-OCR detector gives a selector: detections (box, text, confidence, colours), rows of
detections on one line, and the selection a selector returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from subtitle_vlm.engines.ppocr.colors import BoxColors

Rect = tuple[float, float, float, float]


@dataclass
class Detection:
    """One text line PP-OCR found: its box (x0, y0, x1, y1 pixels), text, confidence and colours."""

    box: Rect
    text: str
    score: float = 1.0
    colors: BoxColors | None = None

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def cy(self) -> float:
        return (self.box[1] + self.box[3]) / 2


def quad_to_rect(quad) -> Rect:
    """Axis-aligned bounds of a 4-point box (PP-OCR returns quads, clockwise from top-left)."""
    xs = [float(p[0]) for p in quad]
    ys = [float(p[1]) for p in quad]
    return (min(xs), min(ys), max(xs), max(ys))


_CLOSING = "，。、；：！？,.;:!?"  # marks that close a phrase, so never begin one
_MARK_WIDTH = dict(zip(",.;:!?", "，。；：！？"))  # the same mark read in either width


@dataclass
class Row:
    """Detections side by side on one line of text, left to right."""

    parts: list[Detection]

    @property
    def box(self) -> Rect:
        return (min(p.box[0] for p in self.parts), min(p.box[1] for p in self.parts),
                max(p.box[2] for p in self.parts), max(p.box[3] for p in self.parts))

    @property
    def height(self) -> float:
        return sum(p.height * _width(p.box) for p in self.parts) / max(1e-6, sum(_width(p.box) for p in self.parts))

    @property
    def cx(self) -> float:
        b = self.box
        return (b[0] + b[2]) / 2

    @property
    def cy(self) -> float:
        b = self.box
        return (b[1] + b[3]) / 2

    @property
    def text(self) -> str:
        """The parts left to right. The detector splits a line only where its letters leave a gap, so two
        parts are two phrases: a space between them (beside full-width punctuation it goes in tidying)."""
        out, prev = "", None
        for cur in self.parts:
            text = cur.text.strip()
            # Boxes that meet at a mark both read it (好， + ，一點): no phrase of Chinese starts with one.
            if prev is not None and text and out and text[0] in _CLOSING \
                    and _MARK_WIDTH.get(out[-1], out[-1]) == _MARK_WIDTH.get(text[0], text[0]) \
                    and cur.box[0] - prev.box[2] <= 0.25 * min(prev.height, cur.height):
                text = text[1:]
            if text:
                out = f"{out} {text}" if out else text
            prev = cur
        return out

    @property
    def score(self) -> float:
        return min(p.score for p in self.parts)

    @property
    def colors(self) -> BoxColors | None:
        """The widest part's colours stand for the row (the parts passed the same colour test to merge)."""
        measured = [p for p in self.parts if p.colors is not None]
        if not measured:
            return None
        return max(measured, key=lambda p: _width(p.box)).colors


@dataclass
class Selection:
    """The chosen subtitle: text ("" when none), its box, and why each other row was turned down."""

    text: str
    box: tuple[int, int, int, int] | None
    lines: list[Row] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (row text, reason)
    # Every other line found, as (box, text): where the frame shows text that is not the subtitle (a
    # ticker, a tag), so a video reader can watch the subtitle's rows without them.
    others: list[tuple[Rect, str]] = field(default_factory=list)


def _width(b: Rect) -> float:
    return b[2] - b[0]


__all__ = ["Detection", "Rect", "Row", "Selection", "quad_to_rect"]
