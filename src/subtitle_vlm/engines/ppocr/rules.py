"""Choose the subtitle among all the text lines PP-OCR found in a frame.

Recognition is nearly solved on subtitles; choosing is the hard part. A frame holds the subtitle plus
station logos (corners), titles and captions (other places, sizes, colours) and text that belongs to the
scene (signs, shirts, Latin fragments). The subtitle is the text that is

- low in the frame (``region_top``..``region_bottom``) and horizontally centred (``centre_tolerance``),
- of subtitle size (``min_height``..``max_height`` of the frame height), recognised with confidence,
- Chinese (``require_cjk``),
- light (near white or yellow) with a dark edge - outline, shadow or dark background (``check_colors``),
- one or two lines of the same height stacked closely (``max_lines``, ``line_height_ratio``, ``max_line_gap``).

Boxes the detector split on one baseline (a subtitle with a space or a comma between phrases) are first
merged into one row. Rows that pass the rules above stack into subtitles of up to ``max_lines`` lines; each
stack is scored for subtitle-likeness (``stack_score``: colours, length, centring, confidence), the best
wins (ties go to the lowest), and below ``min_subtitle_score`` the frame has no subtitle. Punctuation the
detector's boxes left out can be put back by a probe that looks at the frame (``line_text``).
Pure logic on detections and colour measurements: no rapidocr here, so every rule is unit-testable.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Literal, Sequence

from subtitle_vlm.engines.ppocr.colors import BoxColors
from subtitle_vlm.engines.ppocr.detection import Detection, Rect, Row, Selection, _width, quad_to_rect
from subtitle_vlm.engines.ppocr.text import count_cjk, fix_lookalikes, tidy_text

# Marks a line may already end with (nothing to restore after them).
_MARKS = set("，。、！？：；…,.!?:;」』）)~～")
_CLOSERS = set("」』）)")
# Marks PP-OCR sometimes boxes on their own, after the line they end.
_END_MARKS = set("。，、！？!?")


@dataclass
class PPOCRSelectConfig:
    selector: str = field(default="default", metadata={
        "help": "which lines are the subtitle: \"default\" (the learned selector shipped with the package), "
                "a folder made by `subtitle-vlm train-selector` (or its selector.json), or \"rules\" (the "
                "hand-written rules below; the other options here apply to them)"})
    region_top: float = field(default=0.55, metadata={
        "help": "a subtitle line's centre lies below this fraction of the frame height"})
    region_bottom: float = field(default=1.0, metadata={
        "help": "... and above this fraction"})
    centre_tolerance: float = field(default=0.08, metadata={
        "help": "largest distance of a line's centre from the frame's vertical midline, in frame widths"})
    min_height: float = field(default=0.035, metadata={
        "help": "smallest detected line height, in frame heights (PP-OCR boxes are ~1.35x the font size)"})
    max_height: float = field(default=0.22, metadata={"help": "largest detected line height, in frame heights"})
    min_score: float = field(default=0.6, metadata={"help": "lowest recognition confidence kept"})
    require_cjk: bool = field(default=True, metadata={
        "help": "a subtitle line holds at least one Chinese character (drops Latin scene fragments)"})
    check_colors: bool = field(default=True, metadata={
        "help": "use the colours: reject fills that are neither white nor yellow, and rank by contrast"})
    min_fill_luma: float = field(default=150.0, metadata={"help": "the fill's smallest luma (0-255)"})
    max_fill_saturation: float = field(default=0.3, metadata={
        "help": "the fill's largest saturation for a white subtitle ((max-min)/max of RGB)"})
    allow_yellow: bool = field(default=True, metadata={"help": "also accept yellow fills"})
    min_fill_fraction: float = field(default=0.03, metadata={
        "help": "smallest share of the box in the fill colour"})
    min_subtitle_score: float = field(default=0.62, metadata={
        "help": "smallest subtitle-likeness (0-1: colours, length, centring, confidence) of the chosen lines; "
                "below it the frame has no subtitle"})
    max_lines: int = field(default=2, metadata={"help": "most lines one subtitle has"})
    line_height_ratio: float = field(default=1.3, metadata={
        "help": "largest height ratio between two lines of one subtitle (and two parts of one row)"})
    max_line_gap: float = field(default=0.8, metadata={
        "help": "largest vertical gap between two lines of one subtitle, in line heights"})
    row_gap: float = field(default=2.0, metadata={
        "help": "largest horizontal gap between two boxes merged into one row, in line heights"})
    second_pass: bool = field(default=True, metadata={
        "help": "look again at the lines that may be the subtitle: trim a box that holds scene text beside "
                "the subtitle's letters (or hangs off-centre) and recognise the trimmed box again"})
    min_reread_score: float = field(default=0.8, metadata={
        "help": "lowest confidence of a second reading that replaces the first"})
    restore_marks: bool = field(default=True, metadata={
        "help": "put back the ，/。 PP-OCR's boxes leave out when the frame shows a mark there (a small light "
                "blob in a gap inside a line, or just after a line)"})
    restore_spaces: bool = field(default=True, metadata={
        "help": "put back a space PP-OCR left out between two Chinese characters in one box, where the gap "
                "between their glyphs is much wider than the line's other gaps (needs second_pass)"})
    line_join: Literal["auto", "space", "none"] = field(default="auto", metadata={
        "help": "how two subtitle lines are joined: auto (nothing after punctuation or between Chinese "
                "characters, a space between Latin words), space, none"})
    to_traditional: bool = field(default=True, metadata={
        "help": "turn characters that only exist in Simplified Chinese into Traditional"})
    fullwidth_punct: bool = field(default=True, metadata={
        "help": "full-width ，？！：； next to Chinese characters, as in our subtitles"})

    def validate(self) -> None:
        if not 0.0 <= self.region_top < self.region_bottom <= 1.0:
            raise ValueError("region_top and region_bottom: need 0 <= region_top < region_bottom <= 1")
        if not 0.0 < self.centre_tolerance <= 0.5:
            raise ValueError("centre_tolerance: need a fraction of the frame width in (0, 0.5]")
        if not 0.0 <= self.min_height < self.max_height:
            raise ValueError("min_height/max_height: need 0 <= min_height < max_height")
        if self.max_lines < 1:
            raise ValueError("max_lines: need at least 1")
        if self.line_height_ratio < 1.0:
            raise ValueError("line_height_ratio: need >= 1")
        if self.line_join not in ("auto", "space", "none"):
            raise ValueError("line_join: choose auto, space or none")


def looks_like_subtitle_colors(c: BoxColors | None, cfg: PPOCRSelectConfig) -> bool:
    """A light fill: white, or yellow when allowed (how dark its edge is counts in ``colour_quality``)."""
    if c is None or not cfg.check_colors:
        return True
    if c.fill_fraction < cfg.min_fill_fraction:
        return False
    if c.fill_saturation <= cfg.max_fill_saturation:
        return c.fill_luma >= cfg.min_fill_luma
    # Yellow is darker than white at the same brightness (luma weighs blue): its brightest channel counts.
    return cfg.allow_yellow and c.is_yellowish and max(c.fill_rgb) >= cfg.min_fill_luma


def colour_quality(c: BoxColors | None) -> float:
    """0..1: a dark edge around the fill (outline, shadow, dark background) that keeps off the box border."""
    if c is None:
        return 0.5
    return _clip(c.contrast / 150.0) * (1.0 - 0.5 * _clip(c.border_fraction))


def _clip(v: float) -> float:
    return max(0.0, min(1.0, v))


def _same_row(a: Detection, b: Detection, cfg: PPOCRSelectConfig) -> bool:
    ha, hb = a.height, b.height
    if max(ha, hb) > cfg.line_height_ratio * min(ha, hb):
        return False
    # Parts of one line share a baseline: their centres sit at nearly the same height.
    if abs(a.cy - b.cy) > 0.2 * min(ha, hb):
        return False
    gap = max(b.box[0] - a.box[2], a.box[0] - b.box[2])
    return gap <= cfg.row_gap * min(ha, hb)


def _same_colors(a: BoxColors | None, b: BoxColors | None, cfg: PPOCRSelectConfig) -> bool:
    if a is None or b is None:
        return a is b
    if looks_like_subtitle_colors(a, cfg) != looks_like_subtitle_colors(b, cfg):
        return False
    # One subtitle has one fill, and it keeps off the border everywhere (or nowhere, on a light sky).
    return (max(abs(x - y) for x, y in zip(a.fill_rgb, b.fill_rgb)) <= 30
            and abs(a.border_fraction - b.border_fraction) <= 0.5)


def group_rows(dets: Sequence[Detection], cfg: PPOCRSelectConfig) -> list[Row]:
    """Merge boxes that sit side by side on one line in the same colours (one subtitle split at a space)."""
    rows: list[Row] = []
    for d in sorted(dets, key=lambda d: (d.box[0], d.box[1])):
        for row in rows:
            last = row.parts[-1]
            if _same_row(last, d, cfg) and _same_colors(last.colors, d.colors, cfg):
                row.parts.append(d)
                break
        else:
            rows.append(Row([d]))
    return sorted(rows, key=lambda r: (r.cy, r.cx))


def attach_marks(rows: list[Row]) -> list[Row]:
    """A mark PP-OCR boxed on its own (a 。 or ！ read apart from its line) ends the line it follows."""
    def is_mark(r: Row) -> bool:
        t = r.text
        return len(r.parts) == 1 and bool(t) and all(c in _END_MARKS for c in t)

    lines = [r for r in rows if not is_mark(r)]
    out = list(lines)
    for m in (r for r in rows if is_mark(r)):
        for r in lines:
            b, h = r.box, r.height
            if (b[1] <= m.cy <= b[3] and m.height <= 1.1 * h and b[2] - h <= m.box[0] <= b[2] + 0.8 * h
                    and r.text[-1:] not in _MARKS):
                last = r.parts[-1]
                r.parts[-1] = dataclasses.replace(last, text=last.text.rstrip() + m.text.strip(),
                                                  box=(last.box[0], last.box[1], max(last.box[2], m.box[2]),
                                                       last.box[3]))
                break
        else:
            out.append(m)
    return sorted(out, key=lambda r: (r.cy, r.cx))


def _line_pair(upper: Row, lower: Row, cfg: PPOCRSelectConfig) -> float | None:
    """The smaller line height when ``upper`` and ``lower`` could be two lines of one block of text (same
    size and colours, close above one another), else None."""
    if cfg.check_colors and not _same_colors(upper.colors, lower.colors, cfg):
        return None
    h = min(upper.height, lower.height)
    if max(upper.height, lower.height) > cfg.line_height_ratio * h:
        return None
    if not -0.1 * h <= lower.box[1] - upper.box[3] <= cfg.max_line_gap * h:
        return None
    return h


def _alignments(upper: Row, lower: Row, cfg: PPOCRSelectConfig) -> set[str]:
    """How two lines of one block of text line up - flush left, flush right, centred - (empty when they
    are not such a pair). The tolerance is tight: a block of text is set exactly, a sign just below a
    subtitle lines up with it only roughly."""
    h = _line_pair(upper, lower, cfg)
    if h is None:
        return set()
    a, b, tol = upper.box, lower.box, max(3.0, 0.1 * h)
    return {name for name, d in (("left", a[0] - b[0]), ("right", a[2] - b[2]), ("centre", upper.cx - lower.cx))
            if abs(d) <= tol}


def text_block(stack: Sequence[Row], rows: Sequence[Row], cfg: PPOCRSelectConfig) -> tuple[int, set[str]]:
    """The block of text holding ``stack``: how many lines it has and how they line up. Lines above and
    below it among all ``rows`` (candidates or not: a poster's top line may sit above the subtitle region)
    count when they keep one alignment with it (flush left, flush right or centred)."""
    modes = {"left", "right", "centre"}
    for upper, lower in zip(stack, stack[1:]):
        modes &= _alignments(upper, lower, cfg)
    others = [r for r in rows if not any(r is x for x in stack)]
    top, bottom, n = stack[0], stack[-1], len(stack)
    while modes and others:
        for r in others:
            up, down = modes & _alignments(r, top, cfg), modes & _alignments(bottom, r, cfg)
            if up or down:
                modes = up or down
                top, bottom = (r, bottom) if up else (top, r)
                others = [o for o in others if o is not r]
                n += 1
                break
        else:
            break
    return n, modes


def reject_reason(row: Row, width: int, height: int, cfg: PPOCRSelectConfig) -> str | None:
    """Why ``row`` cannot be part of the subtitle, or None when it can."""
    x0, y0, x1, y1 = row.box
    if not cfg.region_top * height <= row.cy <= cfg.region_bottom * height:
        return "outside the subtitle region"
    if abs(row.cx - width / 2) > cfg.centre_tolerance * width:
        return "not centred"
    if not cfg.min_height * height <= row.height <= cfg.max_height * height:
        return "not subtitle size"
    if row.score < cfg.min_score:
        return "low confidence"
    if cfg.require_cjk and count_cjk(row.text) == 0:
        return "no Chinese characters"
    if not looks_like_subtitle_colors(row.colors, cfg):
        return "not white or yellow"
    return None


def _stack_ok(upper: Row, lower: Row, cfg: PPOCRSelectConfig) -> bool:
    """Two lines of one subtitle: same size and colours, close above one another, on one axis."""
    h = _line_pair(upper, lower, cfg)
    if h is None:
        return False
    # A wrapped subtitle breaks near its middle: neither line is a stub beside the other.
    wu, wl = _width(upper.box), _width(lower.box)
    if min(wu, wl) < max(wu, wl) / 4:
        return False
    # Both lines are centred on the frame's midline; a dropped final mark moves a box by half a character.
    return abs(upper.cx - lower.cx) <= 0.7 * h


def join_lines(lines: Sequence[str], mode: str = "auto") -> str:
    """Join subtitle lines top to bottom (the break of a wrapped subtitle drops a space only between words)."""
    out = ""
    for line in lines:
        line = line.strip()
        if not out:
            out = line
            continue
        if mode == "space":
            sep = " "
        elif mode == "none":
            sep = ""
        else:
            a, b = out[-1], line[:1]
            sep = " " if (a.isascii() and a.isalnum() and b.isascii() and b.isalnum()) else ""
        out += sep + line
    return out


def stack_score(stack: Sequence[Row], width: int, cfg: PPOCRSelectConfig) -> float:
    """0..1 subtitle-likeness of lines stacked as one subtitle.

    Weighted: colours (a dark edge around a light fill) 0.4, length (subtitles are sentences, signs are
    words: full marks from 8 Chinese characters) 0.25, centring 0.15, recognition confidence 0.2 (full
    marks at 1.0, none at 0.5: clean subtitles read at ~0.99, half-seen scene text lower).
    """
    colour = sum(colour_quality(r.colors) if cfg.check_colors else 0.5 for r in stack) / len(stack)
    length = _clip(count_cjk("".join(r.text for r in stack)) / 8.0)
    centre = sum(1.0 - _clip(abs(r.cx - width / 2) / (cfg.centre_tolerance * width)) for r in stack) / len(stack)
    conf = _clip((min(r.score for r in stack) - 0.5) / 0.5)
    return 0.4 * colour + 0.25 * length + 0.15 * centre + 0.2 * conf


# probe(region, fill_rgb, line_height, within=False) -> the punctuation mark whose ink is there, "" for none
# (colors.mark_ink; within: the region is a gap inside a line)
MarkProbe = Callable[..., "str | bool"]


def line_text(row: Row, probe: MarkProbe | None = None, last: bool = True) -> str:
    """A row's text; with ``probe``, marks PP-OCR left out are put back: ，in a gap between two parts
    (a space when the gap is empty), and after the line ，(an upper line) or 。(the last line)."""
    fill = row.colors.fill_rgb if row.colors is not None else None
    y0, y1 = row.box[1], row.box[3]
    out = row.parts[0].text.strip()
    for prev, cur in zip(row.parts, row.parts[1:]):
        h = min(prev.height, cur.height)
        gap = cur.box[0] - prev.box[2]
        # Between the glyphs when they were measured: boxes of a split line may overlap over the comma.
        g0 = prev.ink[1] if prev.ink else prev.box[2] - 0.05 * h
        g1 = cur.ink[0] if cur.ink else cur.box[0]
        sep = ""
        if gap > 0.25 * h or (prev.ink and cur.ink and g1 - g0 > 0.6 * h):
            sep = " " if gap > 0.25 * h else ""
            if probe is not None and fill is not None and out[-1:] not in _MARKS and cur.text.strip()[:1] \
                    not in _MARKS and probe((g0, y0, g1, y1), fill, h, within=True):
                sep = "，"
        out += sep + cur.text.strip()
    # A closing quote or bracket may still have its full stop after it (「雷霆」。).
    if probe is not None and fill is not None and out and (out[-1] not in _MARKS or out[-1] in _CLOSERS):
        tail = row.parts[-1]
        end, h = tail.box[2], tail.height
        # From the last glyph on: a 。 PP-OCR did not read can lie inside its box as well as after it.
        start = min(end - 0.05 * h, tail.ink[1] + 0.02 * h) if tail.ink else end - 0.05 * h
        # Faint ink is enough for the subtitle's final full stop, not for a comma after an upper line
        # (PP-OCR nearly always reads a comma that ends a line; a line wrapped mid-phrase has none).
        mark = probe((start, y0, end + 0.75 * h, y1), fill, h, within=not last)
        if mark:
            # A ！ or ？ ends any line; a low small mark is 。 at the end of the subtitle, ，before it.
            out += mark if mark in ("！", "？") else ("。" if last else "，")
    return out


def select_subtitle(dets: Sequence[Detection], width: int, height: int,
                    cfg: PPOCRSelectConfig | None = None, probe: MarkProbe | None = None) -> Selection:
    """The subtitle among ``dets`` in a ``width`` x ``height`` frame (text "" and box None when none).

    ``probe`` looks at the frame for punctuation PP-OCR left out (used when ``cfg.restore_marks``)."""
    cfg = cfg or PPOCRSelectConfig()
    if cfg.to_traditional:
        # Before the rules count Chinese characters: ー二ニー is 一二二一.
        dets = [dataclasses.replace(d, text=fix_lookalikes(d.text)) for d in dets]
    rows = attach_marks(group_rows([d for d in dets if d.text.strip()], cfg))
    rejected: list[tuple[str, str]] = []
    cands: list[Row] = []
    for r in rows:
        why = reject_reason(r, width, height, cfg)
        if why:
            rejected.append((r.text, why))
        else:
            cands.append(r)
    if not cands:
        return Selection("", None, [], rejected)
    cands.sort(key=lambda r: r.cy)
    # Every run of stacked candidate lines ending at each candidate (bottom line last).
    stacks: list[list[Row]] = []
    for i, bottom in enumerate(cands):
        stack = [bottom]
        for j in range(i - 1, -1, -1):
            if len(stack) >= cfg.max_lines:
                break
            if _stack_ok(cands[j], stack[0], cfg):
                stack.insert(0, cands[j])
        stacks.append(stack)
    # A line that is the upper part of a longer stack is not a subtitle by itself.
    stacks = [st for st in stacks if not any(len(o) > len(st) and all(any(r is x for x in o) for r in st)
                                             for o in stacks)]
    # More lines alike than a subtitle has, set flush left or right: a poster or a sign board. (Centred
    # lines may be a subtitle longer than max_lines: its lowest lines are read, as before.)
    blocks = []
    for st in stacks:
        n, modes = text_block(st, rows, cfg)
        if n > cfg.max_lines and "centre" not in modes:
            blocks.append(st)
    if blocks:
        rejected += [(r.text, f"part of a block of more than {cfg.max_lines} lines (a poster or a sign)")
                     for st in blocks for r in st]
        stacks = [st for st in stacks if not any(st is b for b in blocks)]
        if not stacks:
            return Selection("", None, [], rejected)
    scored = [(stack_score(st, width, cfg), st[-1].box[3], st) for st in stacks]
    # Near-equal scores fall through to position: the subtitle is the lowest centred text.
    score, _, best = max(scored, key=lambda t: (round(t[0], 2), t[1]))
    if score < cfg.min_subtitle_score:
        # Even the best lines look more like scene text than a subtitle: the frame has none.
        rejected += [(r.text, f"not subtitle-like enough (best {score:.2f} < {cfg.min_subtitle_score})")
                     for r in cands]
        return Selection("", None, [], rejected)
    chosen = {id(r) for r in best}
    rejected += [(r.text, "another line was chosen") for r in cands if id(r) not in chosen]
    probe = probe if cfg.restore_marks else None
    text = join_lines([line_text(r, probe, last=i == len(best) - 1) for i, r in enumerate(best)], cfg.line_join)
    text = tidy_text(text, to_traditional=cfg.to_traditional, fullwidth_punct=cfg.fullwidth_punct)
    boxes = [r.box for r in best]
    box = (int(min(b[0] for b in boxes)), int(min(b[1] for b in boxes)),
           int(round(max(b[2] for b in boxes))), int(round(max(b[3] for b in boxes))))
    return Selection(text, box if text else None, best, rejected)


__all__ = ["Detection", "PPOCRSelectConfig", "Row", "Selection", "group_rows",
           "join_lines", "looks_like_subtitle_colors", "quad_to_rect", "reject_reason", "select_subtitle"]
