"""dataset on bad input: folders where files belong, broken gold CSVs, outputs with something in the way."""

import json

from subtitle_vlm.cli import main as cli_main
from subtitle_vlm.data.check import check_file
from subtitle_vlm.data.sources import load_samples


def _run(argv, capsys):
    rc = cli_main(["dataset", *map(str, argv)])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_an_image_path_that_is_a_folder_is_skipped_as_such(make_tsv):
    tsv = make_tsv("a.jpg\t好\ndir.jpg\t壞\n".encode(), ["a.jpg"])
    (tsv.parent / "dir.jpg").mkdir()
    loaded = load_samples(tsv)
    assert [s.id for s in loaded.samples] == ["a"]
    assert [str(s) for s in loaded.skipped] == [f"{tsv}:2: image is a folder, not a file: {tsv.parent / 'dir.jpg'}"]


def test_non_utf8_tsv_line_names_the_byte(make_tsv):
    tsv = make_tsv("a.jpg\t好\n".encode() + b"b.jpg\t" + "壞".encode("big5") + b"\n", ["a.jpg", "b.jpg"])
    loaded = load_samples(tsv)
    assert len(loaded.samples) == 1
    assert "labels.tsv:2: not UTF-8 (byte 0x" in str(loaded.skipped[0]) and "at byte 7 of the line" in str(
        loaded.skipped[0])


def test_check_a_folder_says_it_is_a_folder(tmp_path, capsys):
    rc, _, err = _run(["--check", tmp_path], capsys)
    assert rc == 2 and "is a folder; pass a dataset file" in err


def test_check_gold_with_an_unclosed_quote_names_the_line(tmp_path):
    p = tmp_path / "val.csv"
    p.write_text('id,text\na,好\nb,"沒關上\nc,x\n', encoding="utf-8")
    problems = check_file(p, "gold")
    assert [(x.where, "never closed" in x.message) for x in problems] == [("line 3", True)]


def test_check_gold_flags_rows_before_and_the_encoding_problem(tmp_path):
    p = tmp_path / "val.csv"
    p.write_bytes("id,text\na,1,2\nb,".encode() + "壞".encode("big5") + b"\n")
    problems = check_file(p, "gold")
    wheres = [x.where for x in problems]
    assert "line 3" in wheres  # not UTF-8 at line 3
    assert any("not UTF-8" in x.message for x in problems)


def test_export_with_a_folder_in_the_way_of_a_file_is_exit_2(make_frame_set, tmp_path, capsys):
    fs = make_frame_set(4)
    out = tmp_path / "out"
    (out / "gold" / "val.csv").mkdir(parents=True)
    rc, _, err = _run(["--input", fs, "--out", out], capsys)
    assert rc == 2 and "val.csv: cannot write it (a folder of that name is in the way)" in err
    assert not (out / "summary.json").exists()


def test_config_file_with_wrong_types_is_exit_2(make_frame_set, tmp_path, capsys):
    cfg = tmp_path / "d.yaml"
    cfg.write_text(json.dumps({"train_ratio": [0.5], "out": str(tmp_path / "o")}), encoding="utf-8")
    rc, _, err = _run(["--config", cfg, "--input", make_frame_set(2)], capsys)
    assert rc == 2 and "'train_ratio'" in err and "got list" in err
