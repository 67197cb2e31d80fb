"""Stand-ins for the upstream models' ``chat()``: they read the answer off the image itself, so the predict
loop's order, crop, resume and CSV are checked for real. A frame's top-left pixel's red channel indexes
TEXTS; its bottom half carries index + 1, so a bottom crop changes the answer."""

from __future__ import annotations

import json
from pathlib import Path

TEXTS = ["你好，世界", "今天 天氣很好", "我們走吧！", "第3集", "OK，沒問題", "晚安", "再見", "好吃"]


def make_frames(folder: Path, n: int, names=None) -> list[str]:
    """n frames video3_<k>.jpg-style PNGs + metadata.jsonl; returns the ids in natural order."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    names = names or [f"video3_{k * 5}" for k in range(n)]
    lines = []
    for i, name in enumerate(names):
        im = Image.new("RGB", (64, 36), (i * 2, 0, 0))
        im.paste((i * 2 + 2, 0, 0), (0, 18, 64, 36))
        im.save(folder / f"{name}.png")
        lines.append(json.dumps({"file_name": f"{name}.png", "text": TEXTS[i % len(TEXTS)]}, ensure_ascii=False))
    (folder / "metadata.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return names


def text_of(image) -> str:
    return TEXTS[(image.getpixel((0, 0))[0] // 2) % len(TEXTS)]


class FakeMiniCPMV:
    """``chat(image=PIL, msgs, tokenizer, sampling, max_new_tokens) -> str`` like modeling_minicpmv.py."""

    def __init__(self, fail_after: int | None = None):
        self.calls: list[dict] = []
        self.fail_after = fail_after

    def chat(self, image, msgs, tokenizer, vision_hidden_states=None, max_new_tokens=1024, sampling=True, **kw):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise KeyboardInterrupt
        self.calls.append({"msgs": msgs, "tokenizer": tokenizer, "sampling": sampling,
                           "max_new_tokens": max_new_tokens, "size": image.size})
        assert msgs[0]["role"] == "user" and isinstance(msgs[0]["content"], str)
        return text_of(image) + "\n"


class FakeTinyLLaVA:
    """``chat(prompt, tokenizer, image: path, max_new_tokens, num_beams, top_p, temperature) -> (text, seconds)``."""

    def __init__(self):
        self.calls: list[dict] = []

    def chat(self, prompt, tokenizer=None, image=None, max_new_tokens=512, num_beams=1, top_p=None, temperature=0):
        from PIL import Image

        assert isinstance(image, str), "the HF model's chat opens its image from a path"
        with Image.open(image) as im:
            im = im.convert("RGB")
            text = text_of(im)
            size = im.size
        self.calls.append({"prompt": prompt, "tokenizer": tokenizer, "num_beams": num_beams,
                           "temperature": temperature, "top_p": top_p, "max_new_tokens": max_new_tokens, "size": size})
        return " " + text, 0.01
