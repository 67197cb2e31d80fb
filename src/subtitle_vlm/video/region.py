"""The region a video reader watches for subtitle changes, from a selector's choices on a few frames.

The subtitle's rows (every subtitle found, padded by half a line) across the frame's width, since
subtitles are centred but vary in length. Text the selector turned down is kept out: a news ticker under
the subtitle, a headline above it or a name tag beside it changes on its own schedule (a ticker scrolls in
every frame), and inside the watched region it would make every sample look like a new subtitle.
"""

from __future__ import annotations

from collections.abc import Sequence

PAD = 0.5  # of the tallest subtitle line, above and below the subtitles' rows


def subtitle_region(selections: Sequence, width: int, height: int) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) to watch, or None when no selection found a subtitle. ``selections`` have
    ``box`` (None when no subtitle) and ``others`` ([(box, text)] of the lines turned down)."""
    boxes = [s.box for s in selections if s.box]
    if not boxes:
        return None
    line = max(b[3] - b[1] for b in boxes)
    core_y0, core_y1 = min(b[1] for b in boxes), max(b[3] for b in boxes)
    core_x0, core_x1 = min(b[0] for b in boxes), max(b[2] for b in boxes)
    y0, y1 = max(0.0, core_y0 - PAD * line), min(float(height), core_y1 + PAD * line)
    x0, x1 = 0.0, float(width)
    for s in selections:
        for o, _ in getattr(s, "others", ()) or ():
            if o[3] <= y0 or o[1] >= y1:
                continue  # outside the rows watched
            if o[1] >= core_y1 - 0.25 * line:  # below the subtitles (a ticker): stop above it
                y1 = min(y1, max(float(core_y1), o[1]))
            elif o[3] <= core_y0 + 0.25 * line:  # above them (a headline): start below it
                y0 = max(y0, min(float(core_y0), o[3]))
            elif o[2] <= core_x0:  # beside them on the left (a tag): start right of it
                x0 = max(x0, o[2])
            elif o[0] >= core_x1:  # ... or on the right
                x1 = min(x1, o[0])
    return int(x0), int(y0), int(round(x1)), int(round(y1))


__all__ = ["PAD", "subtitle_region"]
