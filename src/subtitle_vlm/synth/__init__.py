"""Synthesis: frames with burned-in subtitles, each described by a record that re-renders it.

Public API (other stages rely on these names):

    from subtitle_vlm.synth import SynthConfig, run_synth, sample_record, render_record, load_assets
    cfg = SynthConfig(out="frames", count=100, style="tv")
    summary = run_synth(cfg)                        # images + metadata.jsonl (resumable, any worker count)
    assets = load_assets(cfg)                       # fonts, backgrounds, sentences, checked once
    rec = sample_record(7, cfg, assets)             # every random choice of frame 7 (JSON-able dict)
    img = render_record(rec, assets)                # PIL image; background=img draws over your own picture
    box = subtitle_bbox(rec)                        # (x0, y0, x1, y1) of the subtitle ink, None if no subtitle
    lines = frame_elements(rec)                     # every drawn text line: role, text, ink box, font, line

Commands: ``subtitle-vlm synth`` (synth_cli) and ``subtitle-vlm preview`` (preview).
"""

from subtitle_vlm.synth.assets import Assets, load_assets
from subtitle_vlm.synth.elements import frame_elements, frame_layout
from subtitle_vlm.synth.fonts import font_group
from subtitle_vlm.synth.record import frame_name, frame_seed, sample_record
from subtitle_vlm.synth.render import render_record, save_frame, subtitle_bbox
from subtitle_vlm.synth.synth_config import PRESETS, STYLES, StyleParams, SynthConfig


def run_synth(cfg, progress=None):
    """Make (or finish) the frame set ``cfg.out``; returns the run summary dict (see ``runner``)."""
    from subtitle_vlm.synth.runner import run_synth as _run

    return _run(cfg, progress=progress)


__all__ = ["Assets", "load_assets", "frame_elements", "frame_layout", "font_group", "frame_name", "frame_seed",
           "sample_record", "render_record",
           "save_frame", "subtitle_bbox", "PRESETS", "STYLES", "StyleParams", "SynthConfig", "run_synth"]
