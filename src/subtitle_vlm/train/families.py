"""What differs between VLM families: where the language model, vision tower and projector live, which token
ends the answer, and how one (image, prompt, answer) sample becomes chat text.

Training and inference both build the prompt with :func:`prompt_text`, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    name: str
    lm: str  # attribute name of the language model inside the VLM
    vision: str  # attribute name of the vision tower
    projector: str  # module trained fully by --train_projector (a name suffix peft matches)
    end_token: str | None = None  # end-of-turn token; None: the tokenizer's eos_token

    def lm_regex(self) -> str:
        """Full-match regex for the language model's attention and MLP projections (never the vision tower)."""
        return (rf".*\b{self.lm}\.(?:model\.)?layers\.\d+\."
                r"(?:self_attn\.(?:q_proj|k_proj|v_proj|o_proj)|mlp\.(?:gate_proj|up_proj|down_proj))")

    def vision_regex(self) -> str:
        """Full-match regex for the vision tower's attention and MLP linear layers (not the projector)."""
        return (rf".*\b{self.vision}\.(?:encoder\.layers|blocks|layers)\.\d+\."
                r"(?:self_attn\.(?:q_proj|k_proj|v_proj|out_proj)|attn\.(?:qkv|proj)"
                r"|mlp\.(?:fc1|fc2|gate_proj|up_proj|down_proj))")


FAMILIES: dict[str, Family] = {
    "qwen2_vl": Family("qwen2_vl", "language_model", "visual", "merger", "<|im_end|>"),
    "qwen2_5_vl": Family("qwen2_5_vl", "language_model", "visual", "merger", "<|im_end|>"),
    "qwen3_vl": Family("qwen3_vl", "language_model", "visual", "merger", "<|im_end|>"),
    "llava": Family("llava", "language_model", "vision_tower", "multi_modal_projector"),
    "llava_next": Family("llava_next", "language_model", "vision_tower", "multi_modal_projector"),
    "idefics3": Family("idefics3", "text_model", "vision_model", "connector", "<end_of_utterance>"),
    "smolvlm": Family("smolvlm", "text_model", "vision_model", "connector", "<end_of_utterance>"),
}

_LM_NAMES = ("language_model", "text_model", "llm")
_VISION_NAMES = ("visual", "vision_tower", "vision_model", "vpm")
_PROJECTOR_NAMES = ("multi_modal_projector", "connector", "merger", "mm_projector", "resampler")


def family_for(model_or_config) -> Family:
    """The family of a model (or its config); unknown model types are inferred from module names."""
    config = getattr(model_or_config, "config", model_or_config)
    model_type = getattr(config, "model_type", "")
    if model_type in FAMILIES:
        return FAMILIES[model_type]
    if not hasattr(model_or_config, "named_modules"):
        raise ValueError(f"unknown model type {model_type!r}; pass the model to infer its layout")
    leaves = {name.rsplit(".", 1)[-1] for name, _ in model_or_config.named_modules()}

    def pick(candidates: tuple[str, ...], what: str) -> str:
        for c in candidates:
            if c in leaves:
                return c
        raise ValueError(f"{model_type}: cannot find the {what} module (looked for {', '.join(candidates)}); "
                         "pass --lora_target explicitly")

    return Family(model_type, pick(_LM_NAMES, "language model"), pick(_VISION_NAMES, "vision tower"),
                  pick(_PROJECTOR_NAMES, "projector"))


def end_token(family: Family, tokenizer) -> str:
    tok = family.end_token
    if tok and tokenizer.convert_tokens_to_ids(tok) not in (None, tokenizer.unk_token_id):
        return tok
    if not tokenizer.eos_token:
        raise ValueError("the tokenizer has no eos_token and the family names no end-of-turn token")
    return tokenizer.eos_token


def user_messages(prompt: str) -> list[dict]:
    """One user turn: the image first, then the prompt (the order the data files use: "<image>" + prompt)."""
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]


def prompt_text(processor, prompt: str) -> str:
    """The chat text up to where the model starts answering."""
    return processor.apply_chat_template(user_messages(prompt), add_generation_prompt=True, tokenize=False)


def training_text(processor, prompt: str, answer: str, end: str) -> tuple[str, str]:
    """(prompt text, answer text): the model learns to produce the answer text, which ends with ``end``.

    The answer part comes from the family's own template (so a leading space or newline is kept where the
    template writes one), cut right after the answer; the end-of-turn token is then appended. Whatever the
    template writes after it (a newline) is never learnt.
    """
    head = prompt_text(processor, prompt)
    msgs = user_messages(prompt) + [{"role": "assistant", "content": [{"type": "text", "text": answer}]}]
    full = processor.apply_chat_template(msgs, tokenize=False)
    if full.startswith(head):
        at = full.find(answer, len(head)) if answer else len(head)
        if at >= 0:
            lead = full[len(head):at]
            # Keep only whitespace the template puts before the answer; anything else means a template we
            # do not understand, and the plain answer is the safe choice.
            if not lead.strip():
                return head, lead + answer + end
    return head, answer + end
