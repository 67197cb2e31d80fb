"""synth on bad input: sizes, outputs with things in the way, leftovers of an interrupted run, text that
cannot fit the frame, and what a bad run leaves behind (nothing)."""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path

import pytest

from subtitle_vlm.cli import main as cli_main
from subtitle_vlm.io import InputError, read_jsonl
from subtitle_vlm.synth import SynthConfig, run_synth
from subtitle_vlm.synth import backgrounds as bg_mod
from subtitle_vlm.synth import runner as runner_mod


@pytest.mark.parametrize("size", ["100000x100000", "8193x720", "63x64", "0x-5"])
def test_size_outside_the_supported_range_is_refused(size):
    with pytest.raises(InputError, match="between 64 and 8192"):
        SynthConfig(out="x", size=size).validate()


def test_negative_count_is_refused():
    with pytest.raises(InputError, match="--count must be >= 0"):
        SynthConfig(out="x", count=-5).validate()


def test_a_folder_named_like_an_image_among_backgrounds_is_not_a_background(small_cfg, bg_dir):
    (bg_dir / "x.jpg").mkdir()
    (bg_dir / "zero.jpg").write_bytes(b"")
    s = run_synth(small_cfg(count=2, backgrounds=str(bg_dir)))
    assert s["backgrounds"] == 3
    assert [Path(e["path"]).name for e in s["skipped"]["backgrounds"]] == ["zero.jpg"]


def test_min_len_above_max_len_is_refused():
    with pytest.raises(InputError, match="--min-len 10 and --max-len 5"):
        SynthConfig(out="x", min_len=10, max_len=5).validate()


def test_a_bad_input_leaves_no_output_folder(tmp_path, small_cfg, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00")
    out = tmp_path / "new" / "frames"
    assert cli_main(["synth", "--out", str(out), "--sentences", str(bad), "--count", "2", "--no-progress"]) == 2
    assert "bad.txt:1" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_a_folder_in_the_way_of_metadata_is_refused_before_work(small_cfg):
    cfg = small_cfg(count=2)
    (Path(cfg.out) / "metadata.jsonl").mkdir(parents=True)
    with pytest.raises(InputError, match=r"metadata\.jsonl: a folder is in the way"):
        run_synth(cfg)


def test_a_folder_in_the_way_of_a_frame_is_exit_2_not_a_crash(small_cfg, capsys):
    cfg = small_cfg(count=2)
    (Path(cfg.out) / "frame_000002.jpg").mkdir(parents=True)
    (Path(cfg.out) / "synth_config.json").write_text("{}", encoding="utf-8")  # a frame set of ours, begun
    with pytest.raises(InputError, match=r"frame_000002\.jpg: cannot write it \(a folder"):
        run_synth(cfg)
    assert [r["index"] for r in read_jsonl(Path(cfg.out) / "metadata.jsonl")] == [0]


def test_foreign_images_named_like_frames_are_not_overwritten(small_cfg):
    cfg = small_cfg(count=2)
    Path(cfg.out).mkdir(parents=True)
    mine = Path(cfg.out) / "frame_000001.jpg"
    mine.write_bytes(b"my own picture")
    with pytest.raises(InputError, match="not made by synth and would be overwritten"):
        run_synth(cfg)
    assert mine.read_bytes() == b"my own picture"


def test_images_past_the_last_metadata_line_are_removed_and_made_again(tmp_path, small_cfg):
    ref = small_cfg(out=str(tmp_path / "ref"), count=6)
    run_synth(ref)
    cfg = small_cfg(count=4)
    run_synth(cfg)
    out = Path(cfg.out)
    (out / "frame_000005.jpg").write_bytes(b"\xff\xd8 rendered ahead, half written")  # left by a stopped worker
    (out / "frame_000009.jpg").write_bytes(b"\xff\xd8")
    s = run_synth(small_cfg(count=6))
    assert s["removed_unlisted_images"] == 2 and s["made"] == 2
    assert not (out / "frame_000009.jpg").exists()
    for name in ("frame_000005.jpg", "frame_000006.jpg"):
        assert (out / name).read_bytes() == (Path(ref.out) / name).read_bytes()


def test_an_interrupt_removes_images_rendered_ahead(small_cfg, monkeypatch):
    cfg = small_cfg(count=8)
    real = runner_mod.make_frame

    def ahead(index, c, assets, out):
        if index == 4:  # a worker that rendered frame 6 before frame 4's line was written, then Ctrl-C
            real(5, c, assets, out)
            raise KeyboardInterrupt
        return real(index, c, assets, out)

    monkeypatch.setattr(runner_mod, "make_frame", ahead)
    with pytest.raises(KeyboardInterrupt):
        run_synth(cfg)
    out = Path(cfg.out)
    listed = {r["file_name"] for r in read_jsonl(out / "metadata.jsonl")}
    assert listed == {f"frame_{i:06d}.jpg" for i in range(1, 5)}
    assert {p.name for p in out.glob("frame_*")} == listed


def test_sentences_too_long_for_a_tiny_frame_are_skipped_and_the_rest_stay_inside(small_cfg):
    s = run_synth(small_cfg(count=12, size="64x64", p_empty=0.0, style="hard"))
    assert s["skipped"]["sentences"]["too_long_for_the_frame_size"] >= 1
    for rec in read_jsonl(Path(s["out"]) / "metadata.jsonl"):
        x0, y0, x1, y1 = rec["subtitle"]["bbox"]
        assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64, rec["subtitle"]


def test_a_huge_font_size_is_shrunk_to_fit_the_frame(small_cfg):
    s = run_synth(small_cfg(count=6, font_size=[5000, 6000], p_empty=0.0, p_two_line=1.0))
    for rec in read_jsonl(Path(s["out"]) / "metadata.jsonl"):
        x0, y0, x1, y1 = rec["subtitle"]["bbox"]
        assert 0 <= x0 < x1 <= 320 and 0 <= y0 < y1 <= 180, rec["subtitle"]


def test_worker_count_is_capped_by_frames_and_cpus():
    assert runner_mod._pool_size(SynthConfig(out="x", workers=500), todo=3) == 3
    assert runner_mod._pool_size(SynthConfig(out="x", workers=10_000), todo=10**6) <= 4 * (os.cpu_count() or 1)
    assert runner_mod._pool_size(SynthConfig(out="x", workers=2), todo=0) == 1


def test_background_cache_stays_within_its_byte_budget(monkeypatch):
    monkeypatch.setattr(bg_mod, "_covers", OrderedDict())
    monkeypatch.setattr(bg_mod, "COVER_CACHE_BYTES", 2 * 320 * 180 * 3)
    for k in range(4):
        bg_mod.load_cover(f"scene:{k}", 320, 180, 1.0)
    assert len(bg_mod._covers) == 2
    assert list(bg_mod._covers)[-1][0] == "scene:3"


def test_no_cjk_font_anywhere_says_what_to_install(small_cfg, monkeypatch):
    from subtitle_vlm.synth import assets as assets_mod

    monkeypatch.setattr(assets_mod, "discover_fonts", lambda paths, faces: ([], []))
    with pytest.raises(InputError, match=r"pip install 'subtitle-vlm\[fonts\]'.*fonts-noto-cjk"):
        assets_mod.load_assets(SynthConfig(out="x", sentences=small_cfg().sentences))


def test_preview_with_a_file_that_is_not_a_font(tmp_path, small_cfg, capsys):
    cfg = small_cfg(count=1)
    run_synth(cfg)
    fake = tmp_path / "fake.ttf"
    fake.write_text("not a font", encoding="utf-8")
    assert cli_main(["preview", "--input", cfg.out, "--out", str(tmp_path / "g.png"), "--font", str(fake)]) == 2
    assert "--font" in capsys.readouterr().err and not (tmp_path / "g.png").exists()
