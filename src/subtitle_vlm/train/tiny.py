"""Tiny random vision-language models, saved as ordinary model directories.

    from subtitle_vlm.train.tiny import resolve_model_name
    path = resolve_model_name("tiny:qwen2_vl")      # builds once into the cache, then reuses it

``tiny:<family>`` is accepted wherever a model path is (train, merge, predict). The model has random weights
(hidden size 64, 2 layers, well under a million parameters), the family's real model and processor classes,
and a character-level tokenizer whose vocabulary is every character of the built-in corpus, the default
prompt, digits, ASCII and full-width punctuation and Latin letters. It cannot read; it proves the plumbing
(masking, collation, LoRA, DeepSpeed, merge, generation, resume) and can memorise a handful of frames.

The directory loads offline with ``AutoModelForImageTextToText.from_pretrained(path)`` and
``AutoProcessor.from_pretrained(path)``. Images are kept small (about 64 image tokens per frame) so that a
training step takes a fraction of a second on a CPU.

Cache folder: ``$SUBTITLE_VLM_CACHE/tiny`` (default ``~/.cache/subtitle_vlm/tiny``), one subfolder per family,
seed, image size and builder fingerprint (builder version + vocabulary), built in a temporary folder and
renamed into place so concurrent builders never see half a model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Bump when anything below changes what gets built; it is part of the cache key.
BUILDER_VERSION = "2"
FAMILIES = ("qwen2_vl", "qwen2_5_vl", "llava", "idefics3", "smolvlm")
TINY_PREFIX = "tiny:"
DEFAULT_IMAGE_SIZE = 224

HIDDEN = 64
LAYERS = 2
HEADS = 4
KV_HEADS = 2
INTERMEDIATE = 128
VISION_HIDDEN = 32
VISION_HEADS = 2
VISION_INTERMEDIATE = 64

PAD, UNK = "<pad>", "<unk>"

# Full-width and CJK punctuation that subtitles use, beyond the ASCII printable set.
CJK_PUNCT = "，。、；：？！「」『』（）《》〈〉【】…—～·‧﹏“”‘’　"
FULLWIDTH_FORMS = "".join(chr(c) for c in range(0xFF01, 0xFF5F))


def vocabulary(extra_text: str = "") -> list[str]:
    """Characters the tiny tokenizer knows, in a fixed order (so the same inputs give the same ids)."""
    from subtitle_vlm.data.prompts import DEFAULT_PROMPT
    from subtitle_vlm.text.sources import load_sentences

    chars: set[str] = set(string.digits + string.ascii_letters + string.punctuation + " \n")
    chars.update(CJK_PUNCT + FULLWIDTH_FORMS)
    for s in load_sentences(None):
        chars.update(s)
    chars.update(DEFAULT_PROMPT)
    chars.update(extra_text)
    chars.discard("\r")
    return sorted(chars)


# ---------------------------------------------------------------- per-family specs
# Chat templates are ours: they render the roles the way each family does, with no system prompt so that
# sequences stay short. Content may be a string or a list of {"type": "image"|"text"} parts.
_QWEN_TEMPLATE = (
    "{%- for m in messages -%}"
    "{{- '<|im_start|>' + m['role'] + '\\n' -}}"
    "{%- if m['content'] is string -%}{{- m['content'] -}}"
    "{%- else -%}{%- for c in m['content'] -%}"
    "{%- if c['type'] == 'image' -%}{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}"
    "{%- elif c['type'] == 'text' -%}{{- c['text'] -}}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)
_LLAVA_TEMPLATE = (
    "{%- for m in messages -%}"
    "{{- m['role'] | upper + ':' -}}"
    "{%- if m['content'] is string -%}{{- m['content'] -}}"
    "{%- else -%}{%- for c in m['content'] -%}"
    "{%- if c['type'] == 'image' -%}{{- '<image>\\n' -}}"
    "{%- elif c['type'] == 'text' -%}{{- c['text'] -}}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{%- if m['role'] == 'assistant' -%}{{- '</s>' -}}{%- else -%}{{- ' ' -}}{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- 'ASSISTANT:' -}}{%- endif -%}"
)
_IDEFICS_TEMPLATE = (
    "{{- '<|begin_of_text|>' -}}"
    "{%- for m in messages -%}"
    "{{- m['role'] | capitalize + ':' -}}"
    "{%- if m['content'] is string -%}{{- m['content'] -}}"
    "{%- else -%}{%- for c in m['content'] -%}"
    "{%- if c['type'] == 'image' -%}{{- '<image>' -}}"
    "{%- elif c['type'] == 'text' -%}{{- c['text'] -}}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{{- '<end_of_utterance>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- 'Assistant:' -}}{%- endif -%}"
)
_SMOLVLM_TEMPLATE = _IDEFICS_TEMPLATE.replace("<|begin_of_text|>", "<|im_start|>")

_IDEFICS_GRID_TAGS = [f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)]


@dataclass(frozen=True)
class TinySpec:
    family: str
    special_tokens: tuple[str, ...]
    bos: str | None
    eos: str  # the end-of-turn token the model must learn to emit
    chat_template: str


SPECS: dict[str, TinySpec] = {
    "qwen2_vl": TinySpec("qwen2_vl", ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
                                      "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"),
                         None, "<|im_end|>", _QWEN_TEMPLATE),
    "llava": TinySpec("llava", ("<s>", "</s>", "<image>"), "<s>", "</s>", _LLAVA_TEMPLATE),
    "idefics3": TinySpec("idefics3", ("<|begin_of_text|>", "<|end_of_text|>", "<end_of_utterance>",
                                      "<fake_token_around_image>", "<image>", "<global-img>", *_IDEFICS_GRID_TAGS),
                         None, "<end_of_utterance>", _IDEFICS_TEMPLATE),
    "smolvlm": TinySpec("smolvlm", ("<|im_start|>", "<|im_end|>", "<end_of_utterance>", "<fake_token_around_image>",
                                    "<image>", "<global-img>", "<video>", *_IDEFICS_GRID_TAGS),
                        None, "<end_of_utterance>", _SMOLVLM_TEMPLATE),
}
SPECS["qwen2_5_vl"] = TinySpec("qwen2_5_vl", *[getattr(SPECS["qwen2_vl"], k)
                                               for k in ("special_tokens", "bos", "eos", "chat_template")])


def check_family(family: str) -> str:
    fam = family.strip().lower().replace("-", "_").replace(".", "_")
    if fam not in FAMILIES:
        raise ValueError(f"unknown tiny model family {family!r}; choose one of: {', '.join(FAMILIES)}")
    return fam


# ---------------------------------------------------------------- tokenizer
def build_tokenizer(spec: TinySpec, chars: list[str]):
    """A character-level fast tokenizer: one id per character, the family's special tokens on top."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = [PAD, UNK, *[t for t in spec.special_tokens if t not in (PAD, UNK)]]
    vocab = {tok: i for i, tok in enumerate(specials)}
    for ch in chars:
        vocab.setdefault(ch, len(vocab))
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    # Every character its own piece; Fuse joins pieces back without the spaces WordLevel would insert.
    core.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    core.decoder = decoders.Fuse()
    kwargs = {"pad_token": PAD, "unk_token": UNK, "eos_token": spec.eos}
    if spec.bos:
        kwargs["bos_token"] = spec.bos
    tok = PreTrainedTokenizerFast(tokenizer_object=core, **kwargs)
    tok.add_special_tokens({"additional_special_tokens": [t for t in specials if t not in (PAD, UNK)]})
    tok.chat_template = spec.chat_template
    # The fast core adds no BOS by itself; LLaVA-style templates don't write one either.
    return tok


# ---------------------------------------------------------------- model configs + processors
def _text_kwargs(vocab_size: int, tok) -> dict:
    return dict(vocab_size=vocab_size, hidden_size=HIDDEN, intermediate_size=INTERMEDIATE,
                num_hidden_layers=LAYERS, num_attention_heads=HEADS, num_key_value_heads=KV_HEADS,
                max_position_embeddings=4096, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                bos_token_id=tok.bos_token_id, tie_word_embeddings=True,
                # Wider than the usual 0.02: with tied 64-wide embeddings the logits could otherwise barely
                # move away from uniform, and the loss curve would hide what the model has learnt.
                initializer_range=0.1)


def _build_qwen(family: str, tok, image_size: int):
    from transformers import Qwen2VLImageProcessor
    from transformers.models.qwen2_vl import Qwen2VLVideoProcessor

    text = _text_kwargs(len(tok), tok)
    head_dim = HIDDEN // HEADS
    # mrope splits the rotary half-dimension between time, height and width; it must sum to head_dim/2.
    half = head_dim // 2
    t = half // 4
    mrope = [t, (half - t) // 2, half - t - (half - t) // 2]
    text["rope_parameters"] = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": mrope}
    ids = {k: tok.convert_tokens_to_ids(v) for k, v in (("image_token_id", "<|image_pad|>"),
                                                         ("video_token_id", "<|video_pad|>"),
                                                         ("vision_start_token_id", "<|vision_start|>"),
                                                         ("vision_end_token_id", "<|vision_end|>"))}
    if family == "qwen2_vl":
        from transformers import Qwen2VLConfig as Cfg
        from transformers import Qwen2VLProcessor as Proc

        vision = dict(depth=LAYERS, embed_dim=VISION_HIDDEN, hidden_size=HIDDEN, num_heads=VISION_HEADS,
                      mlp_ratio=2, patch_size=14, spatial_merge_size=2, temporal_patch_size=2)
    else:
        from transformers import Qwen2_5_VLConfig as Cfg
        from transformers import Qwen2_5_VLProcessor as Proc

        vision = dict(depth=LAYERS, hidden_size=VISION_HIDDEN, out_hidden_size=HIDDEN, num_heads=VISION_HEADS,
                      intermediate_size=VISION_INTERMEDIATE, patch_size=14, spatial_merge_size=2,
                      temporal_patch_size=2, window_size=112, fullatt_block_indexes=[LAYERS - 1])
    config = Cfg(text_config=text, vision_config=vision, tie_word_embeddings=True, **ids)
    # Pixel budget: one merged token covers 28x28 pixels, so image_size**2 pixels is about (image_size/28)**2 tokens.
    image_processor = Qwen2VLImageProcessor(size={"shortest_edge": 28 * 28 * 4, "longest_edge": image_size * image_size},
                                            patch_size=14, merge_size=2, temporal_patch_size=2)
    processor = Proc(image_processor=image_processor, tokenizer=tok, video_processor=Qwen2VLVideoProcessor(),
                     chat_template=tok.chat_template)
    return config, processor


def _build_llava(tok, image_size: int):
    from transformers import CLIPImageProcessor, LlavaConfig, LlavaProcessor

    patch = 28
    vision = dict(model_type="clip_vision_model", hidden_size=VISION_HIDDEN, intermediate_size=VISION_INTERMEDIATE,
                  num_hidden_layers=LAYERS, num_attention_heads=VISION_HEADS, image_size=image_size,
                  patch_size=patch, projection_dim=VISION_HIDDEN)
    text = dict(model_type="llama", **_text_kwargs(len(tok), tok))
    n_tokens = (image_size // patch) ** 2
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_index=tok.convert_tokens_to_ids("<image>"),
                         image_seq_length=n_tokens, vision_feature_select_strategy="default",
                         vision_feature_layer=-1, tie_word_embeddings=True)
    # Squash to a square instead of CLIP's centre crop, which would cut the bottom subtitle off a 16:9 frame.
    image_processor = CLIPImageProcessor(size={"height": image_size, "width": image_size}, do_center_crop=False,
                                         crop_size={"height": image_size, "width": image_size})
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tok, patch_size=patch,
                               vision_feature_select_strategy="default", num_additional_image_tokens=1,
                               chat_template=tok.chat_template)
    return config, processor


def _build_idefics(family: str, tok, image_size: int):
    patch, scale = 16, 2
    vision = dict(hidden_size=VISION_HIDDEN, intermediate_size=VISION_INTERMEDIATE, num_hidden_layers=LAYERS,
                  num_attention_heads=VISION_HEADS, image_size=image_size, patch_size=patch)
    text = dict(model_type="llama", **_text_kwargs(len(tok), tok))
    seq_len = (image_size // patch) ** 2 // (scale * scale)
    image_id = tok.convert_tokens_to_ids("<image>")
    # One tile per frame: splitting would multiply the image tokens by the number of tiles.
    ip_kwargs = dict(do_image_splitting=False, size={"longest_edge": image_size},
                     max_image_size={"longest_edge": image_size})
    if family == "idefics3":
        from transformers import Idefics3Config, Idefics3ImageProcessor, Idefics3Processor

        config = Idefics3Config(vision_config=vision, text_config=text, image_token_id=image_id, scale_factor=scale,
                                tie_word_embeddings=True)
        processor = Idefics3Processor(image_processor=Idefics3ImageProcessor(**ip_kwargs), tokenizer=tok,
                                      image_seq_len=seq_len, chat_template=tok.chat_template)
    else:
        from transformers import SmolVLMConfig, SmolVLMImageProcessor, SmolVLMProcessor
        from transformers.models.smolvlm import SmolVLMVideoProcessor

        config = SmolVLMConfig(vision_config=vision, text_config=text, image_token_id=image_id, scale_factor=scale,
                               tie_word_embeddings=True)
        processor = SmolVLMProcessor(image_processor=SmolVLMImageProcessor(**ip_kwargs), tokenizer=tok,
                                     video_processor=SmolVLMVideoProcessor(), image_seq_len=seq_len,
                                     chat_template=tok.chat_template)
    return config, processor


def build_config_and_processor(family: str, *, image_size: int = DEFAULT_IMAGE_SIZE, extra_text: str = ""):
    """The (config, processor) pair of a tiny model; no weights yet."""
    family = check_family(family)
    spec = SPECS[family]
    tok = build_tokenizer(spec, vocabulary(extra_text))
    if family in ("qwen2_vl", "qwen2_5_vl"):
        config, processor = _build_qwen(family, tok, image_size)
    elif family == "llava":
        config, processor = _build_llava(tok, image_size)
    else:
        config, processor = _build_idefics(family, tok, image_size)
    return config, processor


@contextlib.contextmanager
def _without_zero3_init():
    """Build full (unsharded) weights even inside a process whose TrainingArguments enabled ZeRO-3.

    Under ZeRO-3, ``from_config`` creates partitioned parameters; saved from here they would be empty.
    """
    from transformers.integrations import deepspeed as hf_ds

    ref = hf_ds._hf_deepspeed_config_weak_ref
    hf_ds._hf_deepspeed_config_weak_ref = None
    try:
        yield
    finally:
        hf_ds._hf_deepspeed_config_weak_ref = ref


def build_tiny_model(family: str, out_dir: str | os.PathLike, *, seed: int = 0,
                     image_size: int = DEFAULT_IMAGE_SIZE, extra_text: str = "") -> Path:
    """Build a random tiny model of ``family`` and save it as a model directory at ``out_dir``."""
    import torch
    from transformers import AutoModelForImageTextToText, GenerationConfig

    family = check_family(family)
    config, processor = build_config_and_processor(family, image_size=image_size, extra_text=extra_text)
    tok = processor.tokenizer
    torch.manual_seed(seed)
    with _without_zero3_init():
        model = AutoModelForImageTextToText.from_config(config, dtype=torch.float32)
    model.generation_config = GenerationConfig(
        eos_token_id=tok.convert_tokens_to_ids(SPECS[family].eos), pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id, do_sample=False, max_new_tokens=64)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    info = {"family": family, "seed": seed, "image_size": image_size, "builder_version": BUILDER_VERSION,
            "parameters": sum(p.numel() for p in model.parameters()), "vocab_size": len(tok)}
    (out / "tiny_model.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return out


# ---------------------------------------------------------------- names and cache
def is_tiny_name(name: str | os.PathLike | None) -> bool:
    return isinstance(name, str) and name.startswith(TINY_PREFIX)


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    if cache_dir:
        return Path(cache_dir)
    base = os.environ.get("SUBTITLE_VLM_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "subtitle_vlm") / "tiny"


def _fingerprint(family: str, seed: int, image_size: int) -> str:
    h = hashlib.sha256()
    h.update(f"{BUILDER_VERSION}|{family}|{seed}|{image_size}|".encode())
    h.update("".join(vocabulary()).encode("utf-8"))
    return h.hexdigest()[:12]


def resolve_model_name(name: str | os.PathLike, cache_dir: str | os.PathLike | None = None, *,
                       seed: int = 0, image_size: int = DEFAULT_IMAGE_SIZE) -> str:
    """``tiny:<family>`` -> the path of a built tiny model (built on first use); anything else unchanged."""
    if not is_tiny_name(name):
        return str(name)
    family = check_family(str(name)[len(TINY_PREFIX):])
    root = cache_root(cache_dir)
    target = root / f"{family}-s{seed}-{image_size}-{_fingerprint(family, seed, image_size)}"
    if (target / "tiny_model.json").is_file():
        return str(target)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=root))
    try:
        build_tiny_model(family, tmp, seed=seed, image_size=image_size)
        try:
            os.replace(tmp, target)
        except OSError:
            # Another process renamed its build into place first; theirs is identical, keep it.
            if not (target / "tiny_model.json").is_file():
                raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp)
    return str(target)
