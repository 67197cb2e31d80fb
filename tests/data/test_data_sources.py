"""Reading labelled samples from a frame set or the original TSV; bad records are skipped with reasons."""

import json

import pytest

from subtitle_vlm.data.sources import load_samples
from subtitle_vlm.io import InputError


def test_frame_set_samples_in_natural_order_with_absolute_and_relative_paths(make_frame_set):
    folder = make_frame_set(12)
    got = load_samples(folder)
    assert [s.id for s in got.samples] == [f"video1_{i}" for i in range(12)]
    s = got.samples[2]
    assert s.rel == "frames/video1_2.jpg" and s.text == ""  # a frame without subtitle keeps ""
    assert s.image.is_absolute() and s.image == folder / s.rel
    assert got.root == folder and not got.skipped


def test_frame_set_bad_records_are_skipped_with_file_line_and_reason(make_frame_set, tmp_path):
    folder = make_frame_set(3, extra_lines=[
        json.dumps({"file_name": "frames/nope.jpg", "text": "x"}),          # line 4
        '{"file_name": "frames/video1_0.jpg"',                              # 5 bad JSON
        json.dumps({"text": "no name"}),                                    # 6
        json.dumps({"file_name": "frames/video1_1.jpg"}),                   # 7 no text (and duplicate)
        json.dumps({"file_name": "../outside.jpg", "text": "x"}),           # 8
        json.dumps({"file_name": "/abs/x.jpg", "text": "x"}),               # 9
        json.dumps({"file_name": "frames/video1_1.jpg", "text": "again"}),  # 10 duplicate id
        json.dumps({"file_name": "frames/broken.jpg", "text": "x"}),        # 11 not an image
        json.dumps({"file_name": "frames/video1_9.jpg", "text": 5}),        # 12 text not a string
        "[1, 2]",                                                           # 13
    ])
    (folder / "frames" / "broken.jpg").write_bytes(b"not a jpeg at all")
    raw = (folder / "metadata.jsonl").read_bytes() + "我".encode("big5") + b"\n"  # 14 not UTF-8
    (folder / "metadata.jsonl").write_bytes(raw)
    got = load_samples(folder)
    assert [s.id for s in got.samples] == ["video1_0", "video1_1", "video1_2"]
    reasons = {int(s.where.rsplit(":", 1)[1]): s.reason for s in got.skipped}
    assert all(s.where.startswith(str(folder / "metadata.jsonl") + ":") for s in got.skipped)
    assert "image not found" in reasons[4]
    assert "not valid JSON" in reasons[5]
    assert "file_name" in reasons[6]
    assert "'text'" in reasons[7]
    assert "leaves the frame set folder" in reasons[8]
    assert "absolute" in reasons[9]
    assert "already used" in reasons[10]
    assert "not a readable image" in reasons[11]
    assert "must be a string" in reasons[12]
    assert "JSON object" in reasons[13]
    assert "not UTF-8" in reasons[14]
    assert len(got.skipped) == 11


def test_truncated_last_line_is_reported_as_such(make_frame_set):
    folder = make_frame_set(2)
    with open(folder / "metadata.jsonl", "a", encoding="utf-8") as f:
        f.write('{"file_name": "frames/vid')
    got = load_samples(folder)
    assert len(got.samples) == 2 and "truncated last line" in got.skipped[0].reason


def test_verify_images_off_accepts_unreadable_files(make_frame_set):
    folder = make_frame_set(1)
    (folder / "frames" / "video1_0.jpg").write_bytes(b"garbage")
    assert not load_samples(folder, verify_images=False).skipped
    assert load_samples(folder, verify_images=True).skipped


def test_tsv_input_with_bom_empty_text_and_bad_lines(make_tsv):
    data = (b"\xef\xbb\xbf" + "image_1.jpg\t我在7-11門口等你。\r\n".encode()
            + "image_2.jpg\t\n".encode()                      # no subtitle
            + "image_3.jpg\t不見了\n".encode()                # image missing
            + "no tab here\n".encode()
            + b"image_4.jpg\t" + "壞".encode("big5") + b"\n"  # not UTF-8
            + "\nimage_10.jpg\t  前後空白  \n".encode())
    tsv = make_tsv(data, ["image_1.jpg", "image_2.jpg", "image_4.jpg", "image_10.jpg"])
    got = load_samples(tsv)
    assert [(s.id, s.text) for s in got.samples] == [
        ("image_1", "我在7-11門口等你。"), ("image_2", ""), ("image_10", "前後空白")]
    assert got.root == tsv.parent and got.source == tsv
    reasons = {int(s.where.rsplit(":", 1)[1]): s.reason for s in got.skipped}
    assert set(reasons) == {3, 4, 5}
    assert "image not found" in reasons[3] and "name<TAB>sentence" in reasons[4] and "UTF-8" in reasons[5]


def test_tsv_with_separate_image_folder(make_tsv, tmp_path):
    tsv = make_tsv("a.jpg\t好\n".encode(), [], name="labels_only")
    images = tmp_path / "pics"
    images.mkdir()
    from PIL import Image

    Image.new("RGB", (8, 8)).save(images / "a.jpg")
    got = load_samples(tsv, images=images)
    assert got.samples[0].image == images / "a.jpg"


def test_missing_metadata_explains_what_to_pass(tmp_path):
    (tmp_path / "imgs").mkdir()
    with pytest.raises(InputError, match="no metadata.jsonl.*TSV"):
        load_samples(tmp_path / "imgs")


def test_missing_input_and_wrong_kind(tmp_path, make_frame_set):
    with pytest.raises(InputError, match="not found"):
        load_samples(tmp_path / "nothing")
    other = tmp_path / "x.json"
    other.write_text("[]")
    with pytest.raises(InputError, match=r"\.tsv"):
        load_samples(other)
    with pytest.raises(InputError, match="--images is only for a TSV"):
        load_samples(make_frame_set(1), images=tmp_path)
    tsv = tmp_path / "t.tsv"
    tsv.write_text("a.jpg\tx\n")
    with pytest.raises(InputError, match="image folder not found"):
        load_samples(tsv, images=tmp_path / "no_such_dir")
