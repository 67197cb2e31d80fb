"""subtitle-vlm video INPUT --out subs.srt [--engine ppocr|hf ...] [--fps 4] [--crop auto|bottom=0.3] [--format srt|vtt|json] [--frames-out DIR]

Read the burned-in subtitles of a video into an SRT, WebVTT or JSON cue list. The video is decoded once,
streaming; the subtitle band of each frame is compared with the last one read, and the reader runs only
when it changed. Each cue starts on the frame where its subtitle appears and ends on the frame where it
goes. Rerunning the same command after an interruption resumes from the readings cache.

    subtitle-vlm video episode.mp4 --out episode.srt
    subtitle-vlm video episode.mp4 --out episode.vtt --engine hf --model runs/qwen/merged --crop auto
    subtitle-vlm video episode.mp4 --out episode.json --frames-out episode_frames/   # a frame set for predict
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from subtitle_vlm.config import add_dataclass_arguments, build_config
from subtitle_vlm.video.video_config import VideoConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="subtitle-vlm video", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML or JSON file of defaults; flags win")
    parser.add_argument("--summary-json", help="also write the run's counts and timings to this JSON file")
    add_dataclass_arguments(parser, VideoConfig)
    ns = vars(parser.parse_args(argv))
    summary_json = ns.pop("summary_json")
    cfg = build_config(VideoConfig, ns, ns.pop("config", None))
    from subtitle_vlm.video.run import run_video

    if summary_json:
        from subtitle_vlm.io import check_output, check_writable_dir, json_object_with

        check_output(summary_json, flag="--summary-json", command="video", inputs=[("video", cfg.input)],
                     outputs=[("--out", cfg.out)], suffixes=(".json",), kind="JSON", overwrite=cfg.overwrite,
                     ours=json_object_with("cues", "band_box"))
        check_writable_dir(Path(summary_json).resolve().parent)
    result = run_video(cfg)
    for note in result.notes:
        print(f"video: {note}", file=sys.stderr)
    print(f"video: {result.summary()}; wrote {cfg.out}", file=sys.stderr)
    if result.stats.decode_errors:
        print(f"video: {result.stats.decode_errors} packets could not be decoded and were skipped "
              "(the file may be damaged)", file=sys.stderr)
    if not result.cues:
        print(f"video: no subtitle found in {cfg.input}: {cfg.out} is empty. If the video does have burned-in "
              f"subtitles, check --crop (now {cfg.crop!r}) covers them, or lower --luma-min for dim text.",
              file=sys.stderr)
    if summary_json:
        import json

        from subtitle_vlm.io import atomic_write_text

        data = result.as_dict()
        atomic_write_text(summary_json, json.dumps(data) + "\n")
    return 0
