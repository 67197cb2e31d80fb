"""``load_assets(cfg)``: fonts, backgrounds and sentences, loaded and checked once per run.

Sentences go through ``prepare_sentences`` (OpenCC conversion, dedupe, length filter); each remaining
sentence gets the list of fonts whose cmap covers every character of it. A sentence no font covers is
dropped and counted, so no frame ever shows a missing-glyph box. ``--font-groups`` /
``--exclude-font-groups`` narrow the fonts a subtitle may use (other text keeps every font). What was skipped and why is kept in
``Assets.skipped`` for the run summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from subtitle_vlm.io import InputError
from subtitle_vlm.synth.backgrounds import builtin_refs, scan_folder
from subtitle_vlm.synth.fonts import FontInfo, discover_fonts, font_group
from subtitle_vlm.synth.record import fits_frame
from subtitle_vlm.synth.synth_config import SynthConfig


@dataclass
class Assets:
    fonts: list[FontInfo]
    backgrounds: list[str]
    sentences: list[str]
    sentence_fonts: list[tuple[int, ...]]  # fonts a sentence's subtitle may use (covering it, in the allowed groups)
    skipped: dict = field(default_factory=dict)
    font_groups: list[str] = field(default_factory=list)  # font_group of each font

    def __post_init__(self):
        if len(self.font_groups) != len(self.fonts):
            self.font_groups = [font_group(f) for f in self.fonts]

    _covering: dict = field(default_factory=dict, repr=False, compare=False)

    def fonts_covering(self, text: str) -> list[int]:
        """Indices of the fonts that map every character of ``text`` (remembered: logo, tag and sign words
        come back frame after frame)."""
        hit = self._covering.get(text)
        if hit is None:
            if len(self._covering) >= 20000:
                self._covering.clear()
            hit = self._covering[text] = [i for i, f in enumerate(self.fonts) if f.covers(text)]
        return list(hit)


def load_assets(cfg: SynthConfig) -> Assets:
    from subtitle_vlm.text import load_sentences, prepare_sentences

    fonts, font_skips = discover_fonts(cfg.fonts, cfg.font_faces)
    if not fonts:
        detail = "; ".join(f"{p}: {r}" for p, r in font_skips[:5])
        where = (f"--fonts {' '.join(cfg.fonts)}" if cfg.fonts
                 else "the installed font wheels and the system fonts (none has Traditional Chinese glyphs)")
        raise InputError(f"no usable font in {where}" + (f" ({detail})" if detail else "")
                         + "; pass --fonts with a .ttf/.otf/.ttc that has Traditional Chinese glyphs, or install "
                           "one: pip install 'subtitle-vlm[fonts]' (the manimgx-fonts-cjk wheel), or a system "
                           "package such as fonts-noto-cjk (Debian/Ubuntu) or google-noto-sans-cjk-fonts (Fedora)")

    if cfg.backgrounds:
        backgrounds, bg_skips = scan_folder(cfg.backgrounds)
    else:
        backgrounds, bg_skips = builtin_refs(cfg.params().builtin_backgrounds), []

    groups = [font_group(f) for f in fonts]
    allowed = set(cfg.subtitle_font_groups())
    subtitle_fonts = [i for i, g in enumerate(groups) if g in allowed]
    if not subtitle_fonts:
        have = ", ".join(f"{g} ({groups.count(g)})" for g in dict.fromkeys(groups))
        raise InputError(f"no font left for the subtitle in the groups {', '.join(sorted(allowed))} "
                         f"(--font-groups / --exclude-font-groups); the fonts found are in: {have}")

    raw = load_sentences(cfg.sentences)
    source = cfg.sentences or "the built-in corpus"
    if not raw:
        raise InputError(f"{source}: no sentences (only blank or '#' lines); add one subtitle a line")
    prepared = prepare_sentences(raw, convert=cfg.convert, min_len=cfg.min_len, max_len=cfg.max_len)
    sentence_skips: dict[str, int] = dict(prepared.dropped)
    uncovered: list[str] = []
    too_wide = out_of_groups = 0
    W, H = cfg.width_height()
    sentences, sentence_fonts = [], []
    allowed_set = set(subtitle_fonts)
    for s in prepared.sentences:
        cover = tuple(i for i, f in enumerate(fonts) if f.covers(s))
        if not cover:
            uncovered.append(s)
            continue
        cover = tuple(i for i in cover if fits_frame(fonts[i], s, W, H))
        if not cover:
            too_wide += 1
            continue
        cover = tuple(i for i in cover if i in allowed_set)
        if not cover:
            out_of_groups += 1
            continue
        sentences.append(s)
        sentence_fonts.append(cover)
    if uncovered:
        sentence_skips["no_font_has_all_glyphs"] = len(uncovered)
    if too_wide:
        sentence_skips["too_long_for_the_frame_size"] = too_wide
    if out_of_groups:
        sentence_skips["no_font_in_the_allowed_groups"] = out_of_groups
    if not sentences:
        example = ""
        if uncovered:
            example = f"; e.g. {uncovered[0]!r} lacks {fonts[0].missing(uncovered[0])!r} in {fonts[0].name}"
        raise InputError(f"{source}: no usable sentence ({len(raw)} read; dropped: {sentence_skips}){example}; "
                         "check --min-len/--max-len, a larger --size, or pass fonts that cover the text with --fonts")
    skipped = {
        "sentences": sentence_skips,
        "sentence_examples": [{"sentence": s, "missing": min((f.missing(s) for f in fonts), key=len)}
                              for s in uncovered[:10]],
        "fonts": [{"path": p, "reason": r} for p, r in font_skips],
        "backgrounds": [{"path": p, "reason": r} for p, r in bg_skips],
    }
    return Assets(fonts, backgrounds, sentences, sentence_fonts, skipped, groups)
