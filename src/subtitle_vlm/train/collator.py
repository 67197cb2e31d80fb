"""Batches for training: the processor turns (image, chat text) into model inputs; labels teach the answer only.

Labels are ``IGNORE_INDEX`` everywhere (image, prompt, template tokens, padding) except the answer tokens and
the end-of-turn token that follows them, so the model learns to read and to stop, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from subtitle_vlm import IGNORE_INDEX
from subtitle_vlm.train.families import Family, end_token, prompt_text, training_text


@dataclass
class Sample:
    """One training example: a (cropped) PIL image, the user prompt and the subtitle to learn."""

    image: object
    prompt: str
    answer: str
    id: str = ""


def _as_sample(x) -> Sample:
    return x if isinstance(x, Sample) else Sample(**x)


class VLMCollator:
    """Collate samples into right-padded training batches with answer-only labels."""

    def __init__(self, processor, family: Family):
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.end = end_token(family, self.tokenizer)

    def __call__(self, samples) -> dict:
        import torch

        samples = [_as_sample(s) for s in samples]
        heads, tails = zip(*(training_text(self.processor, s.prompt, s.answer, self.end) for s in samples))
        texts = [h + t for h, t in zip(heads, tails)]
        images = [[s.image] for s in samples]
        batch = self._encode(texts, images, "right")
        ids, attn = batch["input_ids"], batch["attention_mask"]
        labels = torch.full_like(ids, IGNORE_INDEX)
        for i, (head, tail) in enumerate(zip(heads, tails)):
            positions = attn[i].nonzero().flatten()
            n = self._answer_length(ids[i, positions], tail, head, images[i])
            keep = positions[len(positions) - n:]
            labels[i, keep] = ids[i, keep]
        batch["labels"] = labels
        return dict(batch)

    def _encode(self, texts, images, side: str):
        old = self.tokenizer.padding_side
        self.tokenizer.padding_side = side
        try:
            return self.processor(text=list(texts), images=images, padding=True, return_tensors="pt")
        finally:
            self.tokenizer.padding_side = old

    def _answer_length(self, row_ids, tail: str, head: str, image) -> int:
        """How many tokens at the end of the row are the answer and end token.

        Tokenizing the answer alone is exact when the tokenizer does not merge across the prompt/answer
        boundary (character-level, and sentencepiece/BPE after a newline or colon); it is checked, and
        when it does not match the prompt is encoded with its image to count its tokens instead.
        """
        tail_ids = self.tokenizer(tail, add_special_tokens=False)["input_ids"]
        n = len(tail_ids)
        if 0 < n <= len(row_ids) and row_ids[len(row_ids) - n:].tolist() == list(tail_ids):
            return n
        head_ids = self.processor(text=[head], images=[image], return_tensors="pt")["input_ids"][0]
        return len(row_ids) - len(head_ids)


def generation_inputs(processor, prompts: list[str], images: list) -> dict:
    """Left-padded inputs for batched greedy generation with the same chat text training used."""
    tok = processor.tokenizer
    old = tok.padding_side
    tok.padding_side = "left"
    try:
        texts = [prompt_text(processor, p) for p in prompts]
        return dict(processor(text=texts, images=[[im] for im in images], padding=True, return_tensors="pt"))
    finally:
        tok.padding_side = old
