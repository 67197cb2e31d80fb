"""Every exporter against UPSTREAM.md's rules: keys by hand, then the checker on the written files."""

import json
import os
from pathlib import Path

import pytest

from subtitle_vlm.config import build_config
from subtitle_vlm.data.check import check_file
from subtitle_vlm.data.dataset_config import DatasetConfig
from subtitle_vlm.data.export import run_dataset
from subtitle_vlm.data.prompts import DEFAULT_PROMPT
from subtitle_vlm.io import read_csv_predictions, read_jsonl


def _export(fs, out, **kw):
    cfg = build_config(DatasetConfig, {"input": str(fs), "out": str(out), **kw})
    return cfg, run_dataset(cfg)


@pytest.fixture
def exported(make_frame_set, tmp_path):
    fs = make_frame_set(12)
    out = tmp_path / "out"
    cfg, summary = _export(fs, out, train_ratio=0.75, seed=5)
    return fs, out, summary


def _labels(fs):
    return {Path(r["file_name"]).stem: r["text"] for r in read_jsonl(fs / "metadata.jsonl")}


def _split_ids(out):
    return {split: (out / "splits" / f"{split}.txt").read_text(encoding="utf-8").split()
            for split in ("train", "val")}


def test_default_prompt_asks_for_the_bottom_subtitle_only_in_traditional_chinese():
    p = DEFAULT_PROMPT
    for must in ("底部中央", "字幕", "白色", "外框", "標題", "浮動文字", "標誌", "繁體中文", "全形標點", "沒有字幕"):
        assert must in p, must
    assert "<image>" not in p


def test_splits_and_summary(exported):
    fs, out, summary = exported
    ids = _split_ids(out)
    assert len(ids["train"]) == 9 and len(ids["val"]) == 3
    assert sorted(ids["train"] + ids["val"]) == sorted(_labels(fs))
    assert summary["counts"] == {"train": 9, "val": 3}
    assert sum(summary["no_subtitle"].values()) == 2
    assert summary["skipped"] == 0 and summary["checked"] is True
    saved = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert saved["counts"] == summary["counts"]


def test_resolved_config_is_saved_and_reloads(exported):
    _, out, _ = exported
    cfg_file = out / "dataset_config.json"
    data = json.loads(cfg_file.read_text(encoding="utf-8"))
    assert data["seed"] == 5 and data["train_ratio"] == 0.75 and data["prompt"] == DEFAULT_PROMPT
    again = build_config(DatasetConfig, {}, cfg_file)
    assert again.seed == 5 and again.prompt == DEFAULT_PROMPT


def test_minicpmv_files(exported):
    fs, out, _ = exported
    labels = _labels(fs)
    for split, ids in _split_ids(out).items():
        path = out / "minicpmv" / f"{split}.json"
        raw = path.read_bytes()
        assert b"\\u" not in raw  # UTF-8 text, not ASCII escapes
        data = json.loads(raw.decode("utf-8"))
        assert isinstance(data, list) and [r["id"] for r in data] == ids
        for r in data:
            assert set(r) == {"id", "image", "conversations"}
            assert os.path.isabs(r["image"]) and Path(r["image"]).is_file()
            assert Path(r["image"]).stem == r["id"]
            user, bot = r["conversations"]
            assert user == {"role": "user", "content": "<image>\n" + DEFAULT_PROMPT}
            assert bot == {"role": "assistant", "content": labels[r["id"]]}
        assert check_file(path) == []


def test_tinyllava_files_relative_to_the_recorded_image_folder(exported):
    fs, out, _ = exported
    labels = _labels(fs)
    info = json.loads((out / "tinyllava" / "info.json").read_text(encoding="utf-8"))
    folder = Path(info["image_folder"])
    assert folder == fs
    for split, ids in _split_ids(out).items():
        path = out / "tinyllava" / f"{split}.json"
        assert Path(info["data_path"][split]) == path
        data = json.loads(path.read_text(encoding="utf-8"))
        assert [r["id"] for r in data] == ids
        for r in data:
            assert set(r) == {"id", "image", "conversations"}
            assert not os.path.isabs(r["image"]) and (folder / r["image"]).is_file()
            human, gpt = r["conversations"]
            assert human == {"from": "human", "value": "<image>\n" + DEFAULT_PROMPT}
            assert gpt == {"from": "gpt", "value": labels[r["id"]]}
        assert check_file(path) == []


def test_messages_files(exported):
    fs, out, _ = exported
    labels = _labels(fs)
    for split, ids in _split_ids(out).items():
        path = out / "messages" / f"{split}.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines]
        assert [r["id"] for r in rows] == ids
        for r in rows:
            assert set(r) == {"id", "messages", "images"}
            assert r["messages"] == [{"role": "user", "content": "<image>" + DEFAULT_PROMPT},
                                     {"role": "assistant", "content": labels[r["id"]]}]
            assert len(r["images"]) == 1 and os.path.isabs(r["images"][0]) and Path(r["images"][0]).is_file()
        assert check_file(path) == []


def test_imagefolder_metadata_and_linked_images(exported):
    fs, out, summary = exported
    labels = _labels(fs)
    for split, ids in _split_ids(out).items():
        meta = out / "imagefolder" / split / "metadata.jsonl"
        rows = read_jsonl(meta)
        assert [r["id"] for r in rows] == ids
        for r in rows:
            img = meta.parent / r["file_name"]
            assert not os.path.isabs(r["file_name"]) and ".." not in r["file_name"]
            assert img.read_bytes() == (fs / r["file_name"]).read_bytes()
            assert r["text"] == labels[r["id"]]
        assert check_file(meta) == []
    assert sum(summary["imagefolder_links"].values()) == 12


def test_gold_csv_holds_the_val_split(exported):
    fs, out, _ = exported
    labels = _labels(fs)
    gold = read_csv_predictions(out / "gold" / "val.csv")
    assert sorted(gold) == sorted(_split_ids(out)["val"])
    assert all(gold[k] == labels[k] for k in gold)
    assert check_file(out / "gold" / "val.csv") == []


def test_hf_imagefolder_loads_the_export(exported, tmp_path):
    datasets = pytest.importorskip("datasets")
    fs, out, _ = exported
    ds = datasets.load_dataset("imagefolder", data_dir=str(out / "imagefolder"), cache_dir=str(tmp_path / "c"))
    assert set(ds) == {"train", "validation"}
    assert ds["train"].num_rows == 9 and ds["validation"].num_rows == 3
    row = ds["validation"][0]
    assert row["image"].size == (48, 27) and row["text"] == _labels(fs)[row["id"]]


def test_hf_imagefolder_rejects_paths_outside_the_folder(make_frame_set, tmp_path):
    # Why imagefolder/ links the images in instead of pointing at them with ../ (see imagefolder.py).
    datasets = pytest.importorskip("datasets")
    fs = make_frame_set(2)
    split = tmp_path / "hf" / "train"
    split.mkdir(parents=True)
    (split / "metadata.jsonl").write_text(json.dumps({"file_name": "../../fs/frames/video1_0.jpg", "text": "x"}) + "\n")
    with pytest.raises(Exception) as err:
        datasets.load_dataset("imagefolder", data_dir=str(tmp_path / "hf"), cache_dir=str(tmp_path / "c"))
    chain, e = [], err.value
    while e is not None:
        chain.append(str(e))
        e = e.__cause__ or e.__context__
    assert any("file_name" in m and ".." in m for m in chain), chain


@pytest.mark.parametrize("mode", ["symlink", "copy", "hardlink"])
def test_imagefolder_link_modes(make_frame_set, tmp_path, mode):
    fs = make_frame_set(3)
    _, summary = _export(fs, tmp_path / "o", formats="imagefolder", imagefolder_link=mode)
    assert summary["imagefolder_links"] == {mode: 3}
    one = next((tmp_path / "o" / "imagefolder").glob("*/frames/*.jpg"))
    assert one.is_symlink() == (mode == "symlink")
    if mode == "hardlink":
        assert one.stat().st_ino == (fs / "frames" / one.name).stat().st_ino
    assert check_file(next((tmp_path / "o" / "imagefolder").glob("*/metadata.jsonl"))) == []


def test_rerun_with_another_seed_replaces_imagefolder_without_stale_images(make_frame_set, tmp_path):
    fs = make_frame_set(12)
    out = tmp_path / "o"
    _export(fs, out, seed=0, train_ratio=0.5)
    _export(fs, out, seed=1, train_ratio=0.5)
    for split, ids in _split_ids(out).items():
        on_disk = sorted(p.stem for p in (out / "imagefolder" / split).rglob("*.jpg"))
        assert on_disk == sorted(ids)
    assert not [p for p in (out / "imagefolder").iterdir() if p.name.startswith(".")]


def test_formats_subset_and_custom_prompt(make_frame_set, tmp_path):
    fs = make_frame_set(4)
    out = tmp_path / "o"
    _, summary = _export(fs, out, formats="messages,gold", prompt="字幕是什麼？")
    assert set(summary["formats"]) == {"messages", "gold"}
    assert not (out / "minicpmv").exists() and not (out / "imagefolder").exists()
    row = read_jsonl(out / "messages" / "train.jsonl")[0]
    assert row["messages"][0]["content"] == "<image>字幕是什麼？"


def test_tsv_input_exports_like_a_frame_set(make_tsv, tmp_path):
    data = "".join(f"image_{i}.jpg\t第{i}句，好！\n" for i in range(1, 6)).encode()
    tsv = make_tsv(data, [f"image_{i}.jpg" for i in range(1, 6)])
    out = tmp_path / "o"
    _, summary = _export(tsv, out, train_ratio=0.6)
    assert summary["counts"] == {"train": 3, "val": 2}
    tiny = json.loads((out / "tinyllava" / "train.json").read_text(encoding="utf-8"))
    assert all(r["image"] == f"{r['id']}.jpg" for r in tiny)
    info = json.loads((out / "tinyllava" / "info.json").read_text(encoding="utf-8"))
    assert Path(info["image_folder"]) == tsv.parent
    gold = read_csv_predictions(out / "gold" / "val.csv")
    assert all(gold[k] == f"第{k.split('_')[1]}句，好！" for k in gold)


def test_skipped_records_are_summarised(make_frame_set, tmp_path):
    fs = make_frame_set(4, extra_lines=[
        json.dumps({"file_name": "frames/gone.jpg", "text": "x"}),
        json.dumps({"file_name": "frames/gone_too.jpg", "text": "x"}),
        json.dumps({"file_name": "/abs/a.jpg", "text": "x"}),
        json.dumps({"file_name": "frames/video1_0.jpg", "text": "dup"}),
        json.dumps({"file_name": "frames/video1_1.jpg", "text": "dup"}),
    ])
    _, summary = _export(fs, tmp_path / "o")
    assert summary["skipped"] == 5
    assert summary["skipped_by_reason"] == {"image not found": 2, "file_name is absolute": 1, "duplicate id": 2}
    assert summary["skipped_records"][0]["where"].endswith("metadata.jsonl:5")
    assert summary["counts"]["train"] + summary["counts"]["val"] == 4
