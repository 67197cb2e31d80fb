"""Bad or partial input: glyph coverage, damaged backgrounds and fonts, empty/non-UTF-8 sentences, unwritable out."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image

from subtitle_vlm.cli import main as cli_main
from subtitle_vlm.io import InputError, read_jsonl
from subtitle_vlm.synth import load_assets, run_synth, sample_record
from subtitle_vlm.synth.fonts import wheel_font_files

sys.path.insert(0, str(Path(__file__).parent))
from synth_fixtures import SENTENCES, make_tiny_font  # noqa: E402


@pytest.fixture
def noto() -> str:
    files = [p for p in wheel_font_files() if p.suffix.lower() == ".otf"] or wheel_font_files()
    assert files, "a CJK font wheel (manimgx-fonts-cjk or cvttf-notosanscjk-regular) must be installed"
    return str(files[0])


def test_a_font_lacking_glyphs_is_never_used_for_them(tmp_path, small_cfg, noto):
    tiny = make_tiny_font(tmp_path / "tiny.ttf", "好天見明")
    cfg = small_cfg(fonts=[str(tiny), noto], p_title=1.0, p_caption=1.0, p_logo=1.0)
    assets = load_assets(cfg)
    by_path = {(f.path, f.index): f for f in assets.fonts}
    # Exactly the fonts given: the tiny one and every face of the CJK file (a .ttc holds several).
    assert {path for path, _ in by_path} == {str(tiny), noto}
    used_tiny = 0
    for i in range(60):
        rec = sample_record(i, cfg, assets)
        items = [(rec["text"], rec["subtitle"]["font"])] if rec["subtitle"] else []
        items += [(d["text"], d["font"]) for d in rec["distractors"]]
        for text, font in items:
            info = by_path[(font["path"], font["index"])]
            assert info.covers(text), (text, info.name)
            used_tiny += Path(font["path"]).name == "tiny.ttf"
    assert used_tiny > 0  # the small font is used where it can be


def test_a_sentence_no_font_covers_is_skipped_and_counted(tmp_path, small_cfg):
    tiny = make_tiny_font(tmp_path / "tiny.ttf", "好" + SENTENCES[0])
    cfg = small_cfg(fonts=[str(tiny)], count=4)
    s = run_synth(cfg)
    assert s["sentences"] == 2
    assert s["skipped"]["sentences"]["no_font_has_all_glyphs"] == len(SENTENCES) - 2
    ex = s["skipped"]["sentence_examples"][0]
    assert ex["sentence"] == SENTENCES[1] and "們" in ex["missing"]
    texts = {r["source_text"] for r in read_jsonl(Path(cfg.out) / "metadata.jsonl")} - {""}
    assert texts <= {"好", SENTENCES[0]}


def test_no_sentence_renderable_is_an_error(tmp_path, small_cfg):
    tiny = make_tiny_font(tmp_path / "tiny.ttf", "ABC")
    with pytest.raises(InputError, match=r"no usable sentence.*lacks"):
        load_assets(small_cfg(fonts=[str(tiny)]))


def test_unreadable_fonts_are_skipped_and_named(tmp_path, small_cfg, noto):
    bad = tmp_path / "broken.ttf"
    bad.write_bytes(b"this is not a font" * 50)
    empty_dir = tmp_path / "nofonts"
    empty_dir.mkdir()
    s = run_synth(small_cfg(fonts=[str(bad), noto, str(empty_dir)], count=2))
    reasons = {Path(e["path"]).name: e["reason"] for e in s["skipped"]["fonts"]}
    assert "cannot read" in reasons["broken.ttf"]
    assert "no .ttf" in reasons["nofonts"]
    with pytest.raises(InputError, match=r"no usable font.*broken\.ttf"):
        load_assets(small_cfg(fonts=[str(bad)]))


def test_damaged_backgrounds_are_skipped_counted_and_named(tmp_path, small_cfg, bg_dir):
    good = (bg_dir / "bright.jpg").read_bytes()
    (bg_dir / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (bg_dir / "sub" / "notes.png").write_text("not an image", encoding="utf-8")
    (bg_dir / "empty.webp").write_bytes(b"")
    (bg_dir / "readme.txt").write_text("ignored: not an image type", encoding="utf-8")
    s = run_synth(small_cfg(count=12, backgrounds=str(bg_dir)))
    skipped = {Path(e["path"]).name for e in s["skipped"]["backgrounds"]}
    assert skipped == {"truncated.jpg", "notes.png", "empty.webp"}
    assert s["backgrounds"] == 3
    used = {Path(r["background"]["ref"]).name for r in read_jsonl(Path(s["out"]) / "metadata.jsonl")}
    assert used and not used & skipped


def test_a_folder_of_only_broken_backgrounds_is_an_error(tmp_path, small_cfg):
    d = tmp_path / "badbg"
    d.mkdir()
    (d / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(InputError, match=r"no usable background.*a\.jpg"):
        load_assets(small_cfg(backgrounds=str(d)))
    with pytest.raises(InputError, match="backgrounds folder not found"):
        load_assets(small_cfg(backgrounds=str(tmp_path / "missing")))


def test_empty_sentence_source_is_an_error(tmp_path, small_cfg):
    p = tmp_path / "empty.txt"
    p.write_text("# only a comment\n\n   \n", encoding="utf-8")
    with pytest.raises(InputError, match=r"empty\.txt: no sentences"):
        load_assets(small_cfg(sentences=str(p)))


def test_non_utf8_sentence_file_names_the_line(tmp_path, small_cfg, capsys):
    p = tmp_path / "big5.txt"
    p.write_bytes("第一句\n第二句\n".encode("utf-8") + "第三句台灣\n".encode("big5"))
    cfg = small_cfg(sentences=str(p))
    with pytest.raises(InputError, match=r"big5\.txt:3: not UTF-8"):
        load_assets(cfg)
    rc = cli_main(["synth", "--out", cfg.out, "--sentences", str(p), "--count", "1", "--progress", "false"])
    assert rc == 2
    assert "big5.txt:3" in capsys.readouterr().err
    assert not (Path(cfg.out) / "metadata.jsonl").exists()


def test_unwritable_output_folder_is_a_clear_error(tmp_path, small_cfg, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="cannot write there.*choose another --out"):
        run_synth(small_cfg(out=str(blocker / "frames")))
    rc = cli_main(["synth", "--out", str(blocker / "frames"), "--count", "1", "--progress", "false"])
    assert rc == 2 and "--out" in capsys.readouterr().err


def test_backgrounds_are_used_whole_and_large_ones_decode(tmp_path, small_cfg):
    d = tmp_path / "big"
    d.mkdir()
    Image.new("RGB", (3000, 2000), (90, 120, 200)).save(d / "large.jpg", quality=80)
    s = run_synth(small_cfg(backgrounds=str(d), count=2, style="clean"))
    assert s["backgrounds"] == 1 and s["made"] == 2
