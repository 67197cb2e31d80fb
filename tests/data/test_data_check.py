"""--check catches each kind of bad record, naming its index or line and what is wrong."""

import copy
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from subtitle_vlm.cli import main as cli_main
from subtitle_vlm.data import messages, minicpmv, tinyllava
from subtitle_vlm.data.check import check_file, detect_format
from subtitle_vlm.data.sources import Sample
from subtitle_vlm.io import InputError

PROMPT = "請讀出字幕。"


@pytest.fixture
def frames(tmp_path):
    root = tmp_path / "frames"
    root.mkdir()
    out = []
    for i in range(3):
        Image.new("RGB", (8, 8)).save(root / f"f{i}.jpg")
        out.append(Sample(id=f"f{i}", root=root, rel=f"f{i}.jpg", text=f"第{i}句。"))
    return out


def _write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _write_jsonl(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _problems_at(problems, where_prefix):
    return [p.message for p in problems if p.where.startswith(where_prefix)]


# ---------------------------------------------------------------- MiniCPM-V
MINICPM_BAD = {
    "relative image": (lambda r: r.update(image="f1.jpg"), "relative"),
    "missing image": (lambda r: r.update(image="/no/such/frame.jpg"), "image not found"),
    "image list": (lambda r: r.update(image=[r["image"], r["image"]]), "one image per sample"),
    "no image": (lambda r: r.pop("image"), "no 'image'"),
    "no id": (lambda r: r.pop("id"), "no 'id'"),
    "assistant first": (lambda r: r["conversations"].reverse(), "first message must be 'user'"),
    "one message": (lambda r: r["conversations"].pop(), "at least 2"),
    "bad role": (lambda r: r["conversations"][1].update(role="gpt"), "use one of assistant, user"),
    "from/value keys": (lambda r: r.update(conversations=[{"from": "human", "value": "<image>\nq"},
                                                          {"from": "gpt", "value": "a"}]), "has no 'role'"),
    "two image tags": (lambda r: r["conversations"][0].update(content="<image>\n<image>\nq"), "only once"),
    "tag in answer": (lambda r: r["conversations"][1].update(content="<image>x"), "only once"),
    "content not str": (lambda r: r["conversations"][1].update(content=["x"]), "must be a string"),
    "ends with user": (lambda r: r["conversations"].append({"role": "user", "content": "再說一次"}),
                       "last message must be 'assistant'"),
    "two users": (lambda r: r["conversations"].insert(1, {"role": "user", "content": "q"}), "alternate"),
}


@pytest.mark.parametrize("case", sorted(MINICPM_BAD))
def test_minicpmv_bad_record(case, frames, tmp_path):
    mutate, expect = MINICPM_BAD[case]
    recs = [minicpmv.record(s, PROMPT) for s in frames]
    mutate(recs[1])
    path = _write_json(tmp_path / "minicpmv" / "train.json", recs)
    problems = check_file(path, "minicpmv")
    assert problems, case
    assert all(p.where.startswith("record 1") for p in problems), problems
    assert any(expect in m for m in _problems_at(problems, "record 1")), (case, problems)


def test_minicpmv_image_tag_is_optional_but_good_records_pass(frames, tmp_path):
    recs = [minicpmv.record(s, PROMPT) for s in frames]
    recs[0]["conversations"][0]["content"] = PROMPT  # upstream inserts the tag when absent
    assert check_file(_write_json(tmp_path / "m.json", recs), "minicpmv") == []


def test_duplicate_ids(frames, tmp_path):
    recs = [minicpmv.record(s, PROMPT) for s in frames]
    recs[2]["id"] = recs[0]["id"]
    problems = check_file(_write_json(tmp_path / "minicpmv" / "x.json", recs))
    assert len(problems) == 1 and problems[0].where.startswith("record 2") and "already used by record 0" in problems[0].message


# ---------------------------------------------------------------- TinyLLaVA
TINY_BAD = {
    "absolute image": (lambda r, root: r.update(image=str(root / r["image"])), "absolute"),
    "missing image": (lambda r, root: r.update(image="gone.jpg"), "image not found"),
    "no image tag": (lambda r, root: r["conversations"][0].update(value="q"), "exactly once"),
    "role/content keys": (lambda r, root: r.update(conversations=[{"role": "user", "content": "<image>\nq"},
                                                                  {"role": "assistant", "content": "a"}]),
                          "has no 'from'"),
    "gpt first": (lambda r, root: r["conversations"].reverse(), "first message must be 'human'"),
}


@pytest.mark.parametrize("case", sorted(TINY_BAD))
def test_tinyllava_bad_record(case, frames, tmp_path):
    mutate, expect = TINY_BAD[case]
    root = frames[0].root
    recs = [tinyllava.record(s, PROMPT) for s in frames]
    mutate(recs[0], root)
    path = _write_json(tmp_path / "tinyllava" / "train.json", recs)
    problems = check_file(path, "tinyllava", image_folder=root)
    assert problems and all(p.where.startswith("record 0") for p in problems), problems
    assert any(expect in p.message for p in problems), (case, problems)


def test_tinyllava_image_folder_from_info_json(frames, tmp_path):
    recs = [tinyllava.record(s, PROMPT) for s in frames]
    path = _write_json(tmp_path / "tinyllava" / "train.json", recs)
    problems = check_file(path)
    assert len(problems) == 1 and "--image-folder" in problems[0].message
    _write_json(tmp_path / "tinyllava" / "info.json", {"image_folder": str(frames[0].root)})
    assert check_file(path) == []


# ---------------------------------------------------------------- messages
MESSAGES_BAD = {
    "two images": (lambda r: r.update(images=r["images"] * 2), "one image per sample"),
    "tag count": (lambda r: r["messages"][0].update(content="q"), "0 '<image>' tag(s) for 1 image(s)"),
    "relative image": (lambda r: r.update(images=["f0.jpg"]), "relative"),
    "missing image": (lambda r: r.update(images=["/no/such.jpg"]), "image not found"),
    "images not a list": (lambda r: r.update(images=r["images"][0]), "'images' must be a list"),
    "no messages": (lambda r: r.pop("messages"), "no 'messages'"),
    "assistant first": (lambda r: r["messages"].reverse(), "first message must be 'user'"),
    "system second": (lambda r: r["messages"].insert(1, {"role": "system", "content": "s"}), "only come first"),
}


@pytest.mark.parametrize("case", sorted(MESSAGES_BAD))
def test_messages_bad_record(case, frames, tmp_path):
    mutate, expect = MESSAGES_BAD[case]
    rows = [messages.record(s, PROMPT) for s in frames]
    mutate(rows[2])
    path = _write_jsonl(tmp_path / "messages" / "train.jsonl", rows)
    problems = check_file(path)
    assert problems and all(p.where == "line 3 (id 'f2')" for p in problems), problems
    assert any(expect in p.message for p in problems), (case, problems)


def test_messages_allow_a_leading_system_turn(frames, tmp_path):
    rows = [messages.record(s, PROMPT) for s in frames]
    rows[0]["messages"].insert(0, {"role": "system", "content": "你是字幕辨識器。"})
    assert check_file(_write_jsonl(tmp_path / "m.jsonl", rows), "messages") == []


def test_jsonl_bad_lines_name_their_line(frames, tmp_path):
    rows = [messages.record(s, PROMPT) for s in frames]
    path = tmp_path / "messages" / "val.jsonl"
    _write_jsonl(path, rows)
    data = path.read_bytes().split(b"\n")
    data.insert(1, b'{"messages": [')
    data.insert(2, "壞".encode("big5"))
    path.write_bytes(b"\n".join(data))
    problems = check_file(path)
    assert [(p.where, "JSON" in p.message or "UTF-8" in p.message) for p in problems] == \
        [("line 2", True), ("line 3", True)]


# ---------------------------------------------------------------- imagefolder, gold, file-level
def test_imagefolder_bad_lines(frames, tmp_path):
    folder = tmp_path / "imagefolder" / "train"
    folder.mkdir(parents=True)
    os.link(frames[0].image, folder / "f0.jpg")
    rows = [
        {"file_name": "f0.jpg", "text": "好"},
        {"file_name": "../f1.jpg", "text": "x"},
        {"file_name": str(frames[1].image), "text": "x"},
        {"file_name": "gone.jpg", "text": "x"},
        {"file_name": "f0.jpg", "text": "dup"},
        {"file_name": "f0b.jpg"},
    ]
    problems = check_file(_write_jsonl(folder / "metadata.jsonl", rows))
    by_line = {p.where: p.message for p in problems}
    assert "line 1" not in by_line
    assert "'..'" in by_line["line 2"] and "absolute" in by_line["line 3"]
    assert "image not found" in by_line["line 4"] and "already used" in by_line["line 5"]
    assert any("'text'" in p.message for p in problems if p.where == "line 6")


def test_gold_csv_problems(tmp_path):
    bad_header = tmp_path / "a.csv"
    bad_header.write_text("name,label\nx,y\n", encoding="utf-8")
    assert "id,text" in check_file(bad_header)[0].message
    rows = tmp_path / "b.csv"
    rows.write_text('id,text\nv_1,好\nv_2,a,b\nv_1,again\n,empty\n"v_3","逗號,在引號裡"\n', encoding="utf-8")
    problems = check_file(rows)
    assert [p.where.split(" (")[0] for p in problems] == ["line 3", "line 4", "line 5"]
    assert "2 columns" in problems[0].message and "already used" in problems[1].message


def test_file_level_problems(tmp_path, frames):
    recs = [minicpmv.record(s, PROMPT) for s in frames]
    bom = tmp_path / "minicpmv" / "bom.json"
    bom.parent.mkdir()
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(recs).encode())
    assert ["BOM" in p.message for p in check_file(bom)] == [True]
    big5 = tmp_path / "minicpmv" / "big5.json"
    big5.write_bytes(b'[\n{"id": "' + "字".encode("big5") + b'"}]')
    assert check_file(big5, "minicpmv")[0].where == "line 2"
    broken = _write_json(tmp_path / "minicpmv" / "broken.json", recs)
    broken.write_text(broken.read_text(encoding="utf-8")[:-5], encoding="utf-8")
    assert "not valid JSON" in check_file(broken)[0].message
    obj = _write_json(tmp_path / "minicpmv" / "obj.json", {"data": recs})
    assert "JSON list" in check_file(obj)[0].message


def test_detect_format(frames, tmp_path):
    m = _write_json(tmp_path / "a.json", [minicpmv.record(s, PROMPT) for s in frames])
    t = _write_json(tmp_path / "b.json", [tinyllava.record(s, PROMPT) for s in frames])
    j = _write_jsonl(tmp_path / "c.jsonl", [messages.record(s, PROMPT) for s in frames])
    i = _write_jsonl(tmp_path / "metadata.jsonl", [{"file_name": "x.jpg", "text": ""}])
    assert [detect_format(p) for p in (m, t, j, i)] == ["minicpmv", "tinyllava", "messages", "imagefolder"]
    assert detect_format(_write_json(tmp_path / "tinyllava" / "val.json", [])) == "tinyllava"
    with pytest.raises(InputError, match="--format"):
        detect_format(_write_json(tmp_path / "mystery.json", []))
    with pytest.raises(InputError, match="not found"):
        check_file(tmp_path / "absent.json")


def test_cli_check_exit_codes_and_output(frames, tmp_path, capsys):
    good = _write_json(tmp_path / "minicpmv" / "good.json", [minicpmv.record(s, PROMPT) for s in frames])
    recs = [minicpmv.record(s, PROMPT) for s in frames]
    recs[1]["image"] = "rel.jpg"
    bad = _write_json(tmp_path / "minicpmv" / "bad.json", copy.deepcopy(recs))
    assert cli_main(["dataset", "--check", str(good)]) == 0
    assert "OK" in capsys.readouterr().out
    assert cli_main(["dataset", "--check", str(good), str(bad)]) == 2
    out = capsys.readouterr().out
    assert f"{bad}: record 1 (id 'f1'): image path 'rel.jpg' is relative" in out
    assert cli_main(["dataset", "--check", str(tmp_path / "nope.json")]) == 2
