"""Tidy a recognised subtitle line into the conventions of our zh-TW subtitles.

- Script: the recogniser was trained on both scripts and now and then returns a Simplified form of a
  Traditional glyph. Only characters that cannot be Traditional are converted: those outside Big5 (code
  page 950, the Taiwanese character set) that OpenCC maps to something else. Characters valid in both
  scripts (台, 干, 了, 里, 后, 周 ...) are never touched, because a whole-line ``s2twp`` would rewrite correct
  Traditional text (台灣 -> 臺灣, 干擾 -> 幹擾, 了解 -> 瞭解, 聯繫 -> 聯絡). The replacement for each
  such character comes from converting the whole line with ``s2tw`` so OpenCC can use the context
  (头发 -> 頭髮, 发生 -> 發生); ``s2twp``'s vocabulary changes (软件 -> 軟體) are not wanted here: the
  picture shows the words it shows.
- Variant forms: the recogniser also returns old or mainland variants of Traditional characters (凈 for
  淨, 着 for 著, 裏 for 裡, 爲 for 為). Each character is mapped to the Taiwan standard form by OpenCC's
  ``t2tw`` variant table, plus a few variants that table leaves alone (``_EXTRA_VARIANTS``). Character by
  character: no phrase is rewritten.
- Look-alike kana: ー ニ ロ エ カ read among Chinese characters are 一 二 口 工 力 (PP-OCR's dictionary
  holds Japanese too); left alone when the line holds other kana (then it may really be Japanese).
- Punctuation: ASCII , ? ! : ; ( ) next to a CJK character become their full-width forms (，？！：；（）),
  a final or CJK-bounded ``.`` after a CJK character becomes 。, full-width Latin letters and digits become
  ASCII, whitespace runs become one space, and spaces beside full-width punctuation go.
"""

from __future__ import annotations

import re
import unicodedata

_FULLWIDTH = {",": "，", "?": "？", "!": "！", ":": "：", ";": "；", "(": "（", ")": "）"}
_FW_PUNCT = set("，。？！：；、（）「」『』《》〈〉…")
_WS = re.compile(r"\s+")


def is_cjk(ch: str) -> bool:
    """A CJK ideograph (unified, extensions A-G, compatibility) - not punctuation, not kana."""
    o = ord(ch)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x323AF
            or 0xF900 <= o <= 0xFAFF)


def count_cjk(text: str) -> int:
    return sum(is_cjk(c) for c in text)


# Variants OpenCC's t2tw keeps that Taiwan's standard writes otherwise.
_EXTRA_VARIANTS = {"凈": "淨", "綫": "線", "温": "溫", "鷄": "雞", "麽": "麼", "衞": "衛", "啰": "囉", "内": "內",
                   "户": "戶", "黄": "黃", "争": "爭", "説": "說", "経": "經", "対": "對"}
_LOOKALIKE_KANA = {"ー": "一", "ニ": "二", "ロ": "口", "エ": "工", "カ": "力"}


def _is_kana(ch: str) -> bool:
    return "\u3040" <= ch <= "\u30ff"


def fix_lookalikes(text: str) -> str:
    """Kana that look like Chinese characters become those characters when the line holds no other kana
    and either Chinese characters or two different look-alikes (ー二ニー, ーニー，ニー！; a lone ーー stays)."""
    if not any(c in _LOOKALIKE_KANA for c in text):
        return text
    if any(_is_kana(c) and c not in _LOOKALIKE_KANA for c in text):
        return text
    if count_cjk(text) == 0 and len({c for c in text if c in _LOOKALIKE_KANA}) < 2:
        return text
    return "".join(_LOOKALIKE_KANA.get(c, c) for c in text)


def fix_variants(text: str) -> str:
    """Variant forms of Traditional characters become Taiwan's standard forms, character by character."""
    from subtitle_vlm.text.convert import convert

    out = []
    for c in text:
        if not is_cjk(c):
            out.append(c)
            continue
        v = _EXTRA_VARIANTS.get(c)
        if v is None:
            v = convert(c, "t2tw")
            v = v if len(v) == 1 else c
        out.append(v)
    return "".join(out)


def _in_big5(ch: str) -> bool:
    try:
        ch.encode("cp950")
        return True
    except UnicodeEncodeError:
        return False


def fix_simplified(text: str) -> str:
    """Replace characters that can only be Simplified by their Traditional forms; leave the rest alone."""
    suspects = [i for i, c in enumerate(text) if is_cjk(c) and not _in_big5(c)]
    if not suspects:
        return text
    from subtitle_vlm.text.convert import convert

    whole = convert(text, "s2tw")
    chars = list(text)
    for i in suspects:
        # s2tw maps character by character (phrases only pick among candidates), so positions line up;
        # if a future OpenCC ever changes the length, fall back to converting the character alone.
        chars[i] = whole[i] if len(whole) == len(text) else convert(text[i], "s2tw")
    return "".join(chars)


def _fix_punct(text: str) -> str:
    text = "".join(unicodedata.normalize("NFKC", c) if ("\uff10" <= c <= "\uff19" or "\uff21" <= c <= "\uff3a"
                                                        or "\uff41" <= c <= "\uff5a") else c for c in text)
    text = _WS.sub(" ", text).strip()
    out = list(text)
    n = len(out)
    for i, c in enumerate(out):
        prev = out[i - 1] if i > 0 else ""
        nxt = out[i + 1] if i + 1 < n else ""
        near_cjk = (prev and is_cjk(prev)) or (nxt and is_cjk(nxt))
        if c in _FULLWIDTH and near_cjk:
            out[i] = _FULLWIDTH[c]
        elif c == "." and prev and is_cjk(prev) and (not nxt or is_cjk(nxt) or nxt == " "):
            out[i] = "。"
    text = "".join(out)
    # A space beside full-width punctuation is an artefact of the detector's box, never in our subtitles.
    text = re.sub(r"\s*([" + "".join(_FW_PUNCT) + r"])\s*", r"\1", text)
    return text.strip()


def tidy_text(text: str, *, to_traditional: bool = True, fullwidth_punct: bool = True) -> str:
    if to_traditional:
        text = fix_variants(fix_simplified(fix_lookalikes(text)))
    if fullwidth_punct:
        text = _fix_punct(text)
    else:
        text = _WS.sub(" ", text).strip()
    return text


__all__ = ["count_cjk", "fix_lookalikes", "fix_simplified", "fix_variants", "is_cjk", "tidy_text"]
