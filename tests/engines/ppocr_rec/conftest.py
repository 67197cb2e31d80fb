"""A tiny frame set drawn here (white outlined subtitles over smooth colour fields) with synth-style records,
and the converted recogniser, shared by the recogniser tests."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx2torch", reason="recogniser training needs onnx2torch (pip install 'subtitle-vlm[rec]')")
pytest.importorskip("rapidocr", reason="the base recogniser ships in the rapidocr wheel")

W, H = 640, 360
SIZE = 36
LINES = [["今天天氣很好。"], ["我們明天見。"], ["你吃飯了嗎？"], ["這是第一行，", "這是第二行。"]]


def font_path() -> Path:
    spec = importlib.util.find_spec("manimgx_fonts_cjk")
    if spec and spec.origin and (Path(spec.origin).parent / "NotoSansCJK-VF.otf.ttc").is_file():
        return Path(spec.origin).parent / "NotoSansCJK-VF.otf.ttc"
    pytest.skip("no CJK font wheel installed (manimgx-fonts-cjk)")


def draw_frame_set(folder: Path, lines=LINES, seed: int = 0) -> Path:
    """Frames with a centred subtitle per entry of ``lines`` and records in the synthesiser's format."""
    from PIL import Image, ImageDraw

    from subtitle_vlm.synth.fonts import font_for_record
    from subtitle_vlm.synth.layout import draw_block, text_width

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ref = {"path": str(font_path()), "index": 3, "weight": 500}
    font = font_for_record(ref, SIZE)
    rows = []
    for i, block in enumerate(lines):
        small = rng.integers(30, 200, (4, 6, 3)).astype(np.uint8)
        img = Image.fromarray(small).resize((W, H), Image.BICUBIC)
        xy = []
        for k, text in enumerate(block):
            y = H - 30 - (len(block) - k) * int(SIZE * 1.4)
            xy.append([int((W - text_width(font, text)) / 2), y])
        draw_block(ImageDraw.Draw(img), block, xy, font, (255, 255, 255), 0, 2, (0, 0, 0))
        name = f"frame_{i + 1:06d}.png"
        img.save(folder / name)
        rows.append({"file_name": name, "text": "".join(block), "index": i, "size": [W, H],
                     "subtitle": {"lines": block, "line_xy": xy, "font": ref, "font_size": SIZE,
                                  "stroke_width": 2, "letter_spacing": 0}})
    (folder / "metadata.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                           encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def frame_set(tmp_path_factory) -> Path:
    return draw_frame_set(tmp_path_factory.mktemp("rec_frames") / "frames")


@pytest.fixture(scope="session")
def base():
    """(RecModel, BaseInfo) of rapidocr's PP-OCRv6 small recogniser, converted once per session."""
    from subtitle_vlm.engines.ppocr.rec.convert import build_torch_model

    return build_torch_model()
