"""Stand-in remote code: a tiny model with MiniCPM-Llama3-V-2_5's interface, for running upstream finetune/.

MiniCPM-Llama3-V-2_5's own modelling code is on the model hub (unreachable here), so this is our own model
with the parts upstream's finetune.py, dataset.py and trainer.py (OpenBMB/MiniCPM-V @ 9bd93a2) and our
merge.py / cpu_inference.py rely on:
  - ``llm`` (a ``LlamaForCausalLM``; LoRA targets ``llm.model.layers.N.self_attn.{q,k}_proj``), ``vpm`` (an
    Idefics2 vision transformer, which has its own q/k projections the LoRA regex must skip), ``resampler``
    (with ``pos_embed`` and ``attn``), ``transform`` (PIL -> normalised tensor);
  - ``forward(data, **kwargs)``: the dict dataset.py's collator builds (input_ids, position_ids, pixel_values
    as per-sample lists of patch strips, tgt_sizes, image_bound); image features replace the embeddings of
    the ``<unk>`` slots between ``<image>`` and ``</image>``; returns the LLM's output (logits);
  - ``chat(image, msgs, tokenizer, sampling=False, max_new_tokens=...)`` -> str, beam search 3 with
    repetition penalty 1.2 when ``sampling`` is false. It looks at the image once, at about
    ``slice_config.scale_resolution``^2 pixels (no slices): enough for a model that cannot read.
"""

import copy
import json
import math

import torch
from torchvision import transforms
from transformers import LlamaForCausalLM, LlamaPreTrainedModel
from transformers.models.idefics2.modeling_idefics2 import Idefics2VisionTransformer

from .configuration_minicpm import MiniCPMVConfig
from .resampler import Resampler


class MiniCPMVPreTrainedModel(LlamaPreTrainedModel):
    config_class = MiniCPMVConfig


class MiniCPMV(MiniCPMVPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.llm = LlamaForCausalLM(config)
        self.vpm = Idefics2VisionTransformer(config.vision_config)
        heads = max(1, config.hidden_size // 32)
        self.resampler = Resampler(config.query_num, config.hidden_size, heads, config.vision_config.hidden_size)
        self.transform = transforms.Compose([transforms.ToTensor(),
                                             transforms.Normalize(mean=[0.5] * 3, std=[0.5] * 3)])
        self.post_init()

    # peft's gradient-checkpointing hook and finetune.py look these up on the top model.
    def get_input_embeddings(self):
        return self.llm.get_input_embeddings()

    def set_input_embeddings(self, value):
        self.llm.set_input_embeddings(value)

    def get_output_embeddings(self):
        return self.llm.get_output_embeddings()

    def set_output_embeddings(self, value):
        self.llm.set_output_embeddings(value)

    def to_patch_strip(self, image: torch.Tensor) -> torch.Tensor:
        """[3, H, W] -> [3, p, (H/p)*(W/p)*p]: the patches side by side, row-major (dataset.py's layout)."""
        p = self.config.patch_size
        c, h, w = image.shape
        x = image.reshape(c, h // p, p, w // p, p).permute(0, 2, 1, 3, 4)
        return x.reshape(c, p, -1)

    def encode_images(self, strips, sizes) -> torch.Tensor:
        """Patch strips [3, p, n_i*p] laid out sizes[i] = (rows, cols) -> (N, query_num, hidden), in one pass
        of the vision tower and the resampler over the padded batch."""
        p = self.config.patch_size
        counts = [int(h) * int(w) for h, w in sizes]
        longest = max(counts)
        dtype = next(self.vpm.parameters()).dtype
        batch = torch.stack([torch.nn.functional.pad(s, (0, (longest - s.shape[-1] // p) * p)) for s in strips])
        mask = torch.zeros(len(strips), 1, longest, dtype=torch.bool, device=self.device)
        for i, n in enumerate(counts):
            mask[i, 0, :n] = True
        feats = self.vpm(batch.to(device=self.device, dtype=dtype), patch_attention_mask=mask).last_hidden_state
        return self.resampler(feats, sizes, key_padding_mask=~mask[:, 0, :])

    def get_vllm_embedding(self, data):
        embeds = self.llm.model.embed_tokens(data["input_ids"])
        p = self.config.patch_size
        strips, sizes, owner = [], [], []
        for b in range(embeds.shape[0]):
            images = data["pixel_values"][b] if b < len(data["pixel_values"]) else []
            if self.config.batch_vision_input:
                these = list(data["tgt_sizes"][b]) if len(images) else []
            else:  # whole images: lay them out as strips here
                these = [(im.shape[1] // p, im.shape[2] // p) for im in images]
                images = [self.to_patch_strip(im) for im in images]
            strips += list(images)
            sizes += these
            owner += [b] * len(images)
        if not strips:
            return embeds
        feats = self.encode_images(strips, sizes)
        rows = []
        for b in range(embeds.shape[0]):
            bounds = data["image_bound"][b] if b < len(data["image_bound"]) else []
            mine = feats[[i for i, o in enumerate(owner) if o == b]].reshape(-1, feats.shape[-1])
            if len(bounds) == 0 or mine.shape[0] == 0:
                rows.append(embeds[b])
                continue
            slots = torch.cat([torch.arange(int(s), int(e)) for s, e in bounds]).to(embeds.device)
            slots = slots[slots < embeds.shape[1]]  # the collator may have cut the sequence short
            n = min(len(slots), mine.shape[0])
            rows.append(embeds[b].index_copy(0, slots[:n], mine[:n].to(embeds.dtype)))
        return torch.stack(rows)

    def forward(self, data, **kwargs):
        embeds = self.get_vllm_embedding(data)
        position_ids = data["position_ids"]
        if position_ids.dtype != torch.int64:
            position_ids = position_ids.long()
        return self.llm(input_ids=None, inputs_embeds=embeds, position_ids=position_ids, **kwargs)

    def _image_strip(self, image):
        """PIL image -> (patch strip, (rows, cols)) at about scale_resolution^2 pixels."""
        p = self.config.patch_size
        side = self.config.slice_config.scale_resolution
        ratio = image.width / image.height
        cols = max(1, round(side * math.sqrt(ratio) / p))
        rows = max(1, round(side / math.sqrt(ratio) / p))
        pixels = self.transform(image.convert("RGB").resize((cols * p, rows * p), resample=3))
        return self.to_patch_strip(pixels), (rows, cols)

    def chat(self, image, msgs, tokenizer, vision_hidden_states=None, max_new_tokens=1024, sampling=True,
             max_inp_length=2048, **kwargs):
        if isinstance(msgs, str):
            msgs = json.loads(msgs)
        msgs = copy.deepcopy(msgs)
        if not msgs or msgs[0]["role"] != "user":
            raise ValueError("msgs must start with a user message")
        strips, sizes = [], []
        if image is not None:
            strip, size = self._image_strip(image)
            strips.append(strip)
            sizes.append(size)
            slot = tokenizer.im_start + tokenizer.unk_token * self.config.query_num + tokenizer.im_end
            msgs[0]["content"] = slot + "\n" + msgs[0]["content"]
        ids = tokenizer.apply_chat_template(msgs, tokenize=True, add_generation_prompt=False)[:max_inp_length]
        input_ids = torch.tensor([ids], dtype=torch.long, device=self.device)
        starts = (input_ids[0] == tokenizer.im_start_id).nonzero()[:, 0] + 1
        ends = (input_ids[0] == tokenizer.im_end_id).nonzero()[:, 0]
        data = {"input_ids": input_ids, "pixel_values": [strips], "tgt_sizes": [sizes],
                "image_bound": [torch.stack([starts, ends], dim=1) if len(starts) else []],
                "position_ids": torch.arange(input_ids.shape[1], device=self.device)[None]}
        if sampling:
            gen = {"do_sample": True, "top_p": 0.8, "top_k": 100, "temperature": 0.7, "repetition_penalty": 1.05}
        else:
            gen = {"num_beams": 3, "repetition_penalty": 1.2}
        gen.update((k, kwargs[k]) for k in gen.keys() & kwargs.keys())
        with torch.inference_mode():
            embeds = self.get_vllm_embedding(data)
            out = self.llm.generate(inputs_embeds=embeds, attention_mask=torch.ones_like(input_ids),
                                    max_new_tokens=max_new_tokens, pad_token_id=0,
                                    eos_token_id=[tokenizer.eos_token_id, tokenizer.eot_id], **gen)
        return tokenizer.decode(out[0], skip_special_tokens=True).strip()
