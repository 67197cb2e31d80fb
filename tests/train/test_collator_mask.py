"""The loss mask, per family: only the answer tokens and the end-of-turn token are learnt."""

from __future__ import annotations

import pytest
from PIL import Image

from subtitle_vlm import IGNORE_INDEX
from subtitle_vlm.train import tiny
from subtitle_vlm.train.collator import Sample, VLMCollator, generation_inputs
from subtitle_vlm.train.families import FAMILIES, training_text

ANSWERS = ["連長，第三排已經全部到齊了！", "OK 123", ""]


@pytest.fixture(scope="module")
def processors(tiny_model):
    from transformers import AutoProcessor

    cache = {}

    def get(family):
        if family not in cache:
            cache[family] = AutoProcessor.from_pretrained(tiny_model(family))
        return cache[family]

    return get


def _batch(processor, family):
    samples = [Sample(Image.new("RGB", size, (40 * i, 80, 120)), "只讀字幕", ans)
               for i, (size, ans) in enumerate(zip([(640, 360), (320, 180), (1280, 720)], ANSWERS))]
    return VLMCollator(processor, FAMILIES[family])(samples)


@pytest.mark.parametrize("family", tiny.FAMILIES)
def test_unmasked_tokens_are_exactly_answer_and_end_token(processors, family):
    processor = processors(family)
    tok = processor.tokenizer
    end = tiny.SPECS[family].eos
    batch = _batch(processor, family)
    labels, ids, attn = batch["labels"], batch["input_ids"], batch["attention_mask"]
    assert labels.shape == ids.shape
    for i, answer in enumerate(ANSWERS):
        kept = labels[i][labels[i] != IGNORE_INDEX]
        assert tok.decode(kept, skip_special_tokens=False) == answer + end
        # The learnt tokens are the last real tokens of the row, equal to the inputs there.
        n_real = int(attn[i].sum())
        pos = (labels[i] != IGNORE_INDEX).nonzero().flatten()
        assert pos.tolist() == list(range(n_real - len(kept), n_real))
        assert (ids[i][pos] == kept).all()
        # Padding (right side) is never learnt.
        assert (labels[i][n_real:] == IGNORE_INDEX).all()
        assert attn[i][:n_real].all()


@pytest.mark.parametrize("family", tiny.FAMILIES)
def test_image_and_prompt_tokens_are_masked(processors, family):
    processor = processors(family)
    batch = _batch(processor, family)
    image_id = processor.tokenizer.convert_tokens_to_ids(
        "<|image_pad|>" if family.startswith("qwen") else "<image>")
    assert (batch["input_ids"] == image_id).any()
    assert (batch["labels"][batch["input_ids"] == image_id] == IGNORE_INDEX).all()


@pytest.mark.parametrize("family", ["qwen2_vl", "llava"])
def test_generation_inputs_are_left_padded_prompts(processors, family):
    processor = processors(family)
    enc = generation_inputs(processor, ["讀", "只讀字幕"], [Image.new("RGB", (640, 360)), Image.new("RGB", (640, 360))])
    attn = enc["attention_mask"]
    assert attn[:, -1].all() and not attn[0].all()  # the shorter prompt is padded on the left
    text = processor.tokenizer.decode(enc["input_ids"][1], skip_special_tokens=False)
    assert text.endswith(processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "x"}]}],
        add_generation_prompt=True)[-5:])


class _TemplateOnly:
    """A processor stand-in whose template writes a space before the answer and nothing after it
    (the way llava-hf checkpoints do), to check the generic answer split."""

    def apply_chat_template(self, messages, add_generation_prompt=False, tokenize=False):
        out = ""
        for m in messages:
            text = "".join(c.get("text", "<image>\n") for c in m["content"])
            out += f"{m['role'].upper()}: {text} "
        return out + ("ASSISTANT:" if add_generation_prompt else "")


def test_training_text_keeps_template_spacing_and_appends_end():
    head, tail = training_text(_TemplateOnly(), "讀", "你好", "</s>")
    assert head.endswith("ASSISTANT:")
    assert tail == " 你好</s>"
