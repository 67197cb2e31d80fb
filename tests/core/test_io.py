import json
import os

import pytest
from PIL import Image

from subtitle_vlm.io import (InputError, append_jsonl, atomic_open, atomic_write_text, check_writable_dir,
                             natural_key, read_csv_predictions, read_frame_set, read_jsonl, repair_jsonl_tail,
                             save_image_atomic, write_csv_predictions)


def test_natural_key_orders_numbers():
    ids = ["video3_10", "video3_2", "video10_1", "video3_1"]
    assert sorted(ids, key=natural_key) == ["video3_1", "video3_2", "video3_10", "video10_1"]


def test_atomic_write_leaves_old_file_when_block_fails(tmp_path):
    p = tmp_path / "out.txt"
    atomic_write_text(p, "old")
    with pytest.raises(RuntimeError):
        with atomic_open(p) as f:
            f.write("half")
            raise RuntimeError("crash")
    assert p.read_text() == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["out.txt"]  # no temp file left


def test_save_image_atomic_roundtrip(tmp_path):
    p = tmp_path / "a.jpg"
    save_image_atomic(Image.new("RGB", (8, 8), "red"), p, quality=90)
    with Image.open(p) as im:
        assert im.size == (8, 8)


def test_jsonl_partial_last_line_repaired(tmp_path):
    p = tmp_path / "m.jsonl"
    append_jsonl(p, [{"a": 1}, {"a": 2}])
    with open(p, "a", encoding="utf-8") as f:
        f.write('{"a": 3')  # crash mid-line
    with pytest.raises(InputError, match=r"m.jsonl:3"):
        read_jsonl(p)
    assert read_jsonl(p, tolerate_partial_last_line=True) == [{"a": 1}, {"a": 2}]
    assert repair_jsonl_tail(p) == len('{"a": 3')
    assert read_jsonl(p) == [{"a": 1}, {"a": 2}]


def test_csv_roundtrip_quotes_and_natural_order(tmp_path):
    p = tmp_path / "pred.csv"
    rows = {"video3_10": '他說："好，走吧"', "video3_2": "一,二", "video3_1": ""}
    write_csv_predictions(p, rows)
    text = p.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "id,text"
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == ["video3_1", "video3_2", "video3_10"]
    assert read_csv_predictions(p) == rows


def test_csv_errors_name_file_and_line(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("id,text\na,1\na,2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.csv:3: id 'a' appears twice"):
        read_csv_predictions(p)
    p.write_text("name,label\na,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="header"):
        read_csv_predictions(p)
    p.write_bytes("id,text\na,\xa7A\n".encode("big5"))
    with pytest.raises(InputError, match="UTF-8"):
        read_csv_predictions(p)


def test_read_frame_set_metadata_and_plain_folder(tmp_path):
    for name in ("f_10.jpg", "f_2.jpg"):
        Image.new("RGB", (4, 4)).save(tmp_path / name)
    frames = read_frame_set(tmp_path)
    assert [f.id for f in frames] == ["f_2", "f_10"] and frames[0].text is None
    (tmp_path / "metadata.jsonl").write_text(
        "".join(json.dumps({"file_name": n, "text": t}, ensure_ascii=False) + "\n"
                for n, t in [("f_10.jpg", "十"), ("f_2.jpg", "")]), encoding="utf-8")
    frames = read_frame_set(tmp_path)
    assert [(f.id, f.text) for f in frames] == [("f_2", ""), ("f_10", "十")]


def test_read_frame_set_rejects_duplicate_ids(tmp_path):
    (tmp_path / "a").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "x.jpg")
    Image.new("RGB", (4, 4)).save(tmp_path / "a" / "x.png")
    with pytest.raises(InputError, match="share the id 'x'"):
        read_frame_set(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_dir_message(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    with pytest.raises(InputError, match="cannot write"):
        check_writable_dir(ro / "sub")


def test_unwritable_dir_message_file_in_the_way(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="choose another --out"):
        check_writable_dir(blocker / "sub")
