"""Tiny labelled frame sets made with Pillow (independent of the synth stage)."""

import json

import pytest
from PIL import Image

TEXTS = ["你好，世界！", "我在7-11門口等你。", "", "好 我知道了", "OK，沒問題。", "連長，第三排到齊了！",
         "明天午後有雷陣雨。", "這碗麵真好吃", "", "我們坐MRT過去。", "下午3點見", "「真的嗎？」"]


def _save(path, i):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (48, 27), (20 * (i % 12), 90, 160)).save(path, quality=80)


@pytest.fixture
def make_frame_set(tmp_path):
    """make_frame_set(n=12, sub="frames", name="fs") -> folder with n JPEGs and metadata.jsonl."""

    def make(n: int = 12, sub: str = "frames", name: str = "fs", extra_lines: list[str] | None = None):
        folder = tmp_path / name
        rows = []
        for i in range(n):
            rel = f"{sub}/video1_{i}.jpg" if sub else f"video1_{i}.jpg"
            _save(folder / rel, i)
            rows.append({"file_name": rel, "text": TEXTS[i % len(TEXTS)], "font": "NotoSansCJK", "seed": i})
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        text += "".join(line + "\n" for line in extra_lines or [])
        (folder / "metadata.jsonl").write_text(text, encoding="utf-8")
        return folder

    return make


@pytest.fixture
def make_tsv(tmp_path):
    """make_tsv(lines, images=[...]) -> TSV path; ``images`` are made in the TSV's folder."""

    def make(data: bytes, images: list[str], name: str = "orig"):
        folder = tmp_path / name
        folder.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(images):
            _save(folder / img, i)
        path = folder / "labels.tsv"
        path.write_bytes(data)
        return path

    return make
