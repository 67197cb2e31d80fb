"""Video: burned-in subtitles of a whole video into timed cues, and the tools to measure that.

    from subtitle_vlm.video.run import run_video            # VideoConfig in, cues + stats out
    from subtitle_vlm.video.srt import read_cues, write_cues  # SRT / WebVTT / JSON
    from subtitle_vlm.video.srt_metrics import score_cues    # cue-level precision, recall, CER, timing

Modules: decode (streaming PyAV decode, pts times), band (change detection on the subtitle band),
extract (the streaming pass: states and reads), cues (states -> cues), cache (resumable readings),
srt, srt_metrics; commands video_cli (``subtitle-vlm video``), synth_video (``subtitle-vlm synth-video``)
and score_srt (``subtitle-vlm score-srt``). PyAV and the engines are imported only where used.
"""
