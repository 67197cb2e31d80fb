"""The instruction every exported sample (and, through the run config, every prediction) uses.

The default asks, in Traditional Chinese, for the bottom-centre subtitle only (white text, dark outline),
to ignore titles, captions, floating text and station logos, to answer in Traditional Chinese with
full-width punctuation and nothing else, and to answer with nothing when the frame has no subtitle.
"""

from __future__ import annotations

DEFAULT_PROMPT = (
    "請只辨識畫面底部中央的字幕（白色文字、深色外框），"
    "忽略標題、說明文字、浮動文字和電視台標誌。"
    "以繁體中文和全形標點（，。！？）輸出字幕內容，不要輸出任何其他文字；"
    "如果畫面中沒有字幕，就什麼都不要輸出。"
)

# Where each trainer expects the image placeholder (UPSTREAM.md): MiniCPM-V and TinyLLaVA put it on its own
# line before the question; ms-swift and LLaMA-Factory count "<image>" tags and accept it glued to the text.
IMAGE_TOKEN = "<image>"


def user_text_with_image(prompt: str, newline: bool = True) -> str:
    """The first user turn: the image placeholder, then the prompt."""
    return IMAGE_TOKEN + ("\n" if newline else "") + prompt
