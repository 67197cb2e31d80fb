"""A few-thousand-parameter stand-in with MiniCPM-V's module names (vpm, resampler, llm.model.embed_tokens,
llm.model.layers.N.self_attn.{q,k,v,o}_proj, llm.lm_head), for the LoRA / merge tests. Its vision tower has
q_proj/k_proj too, so the recipe's target regex must pick the LLM's only."""

from __future__ import annotations

import torch
from torch import nn

LORA_TARGETS = r"llm\..*layers\.\d+\.self_attn\.(q_proj|k_proj)"


class _Attn(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (nn.Linear(d, d, bias=False) for _ in range(4))


class _Layer(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.self_attn = _Attn(d)
        self.mlp = nn.Linear(d, d)


class _Decoder(nn.Module):
    def __init__(self, vocab: int, d: int, n_layers: int):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(_Layer(d) for _ in range(n_layers))
        self.norm = nn.LayerNorm(d)


class _LLM(nn.Module):
    def __init__(self, vocab: int, d: int, n_layers: int):
        super().__init__()
        self.model = _Decoder(vocab, d, n_layers)
        self.lm_head = nn.Linear(d, vocab, bias=False)


class _VisionLayer(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.self_attn = _Attn(d)


class _VPM(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.embeddings = nn.Linear(12, d)
        self.encoder = nn.Module()
        self.encoder.layers = nn.ModuleList(_VisionLayer(d) for _ in range(2))


class _Resampler(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.query = nn.Parameter(torch.randn(4, d))
        self.kv_proj = nn.Linear(d, d, bias=False)
        self.ln_post = nn.LayerNorm(d)


class MiniCPMVStandIn(nn.Module):
    def __init__(self, vocab: int = 32, d: int = 16, n_layers: int = 2, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.vpm = _VPM(d)
        self.resampler = _Resampler(d)
        self.llm = _LLM(vocab, d, n_layers)

    def prepare_inputs_for_generation(self, *args, **kwargs):  # peft's causal-LM wrapper looks it up
        return kwargs

    def forward(self, input_ids):
        h = self.llm.model.embed_tokens(input_ids)
        for layer in self.llm.model.layers:
            a = layer.self_attn
            h = h + a.o_proj(a.v_proj(h) * torch.sigmoid(a.q_proj(h) * a.k_proj(h)))
        return self.llm.lm_head(self.llm.model.norm(h))

    def save_pretrained(self, out_dir, safe_serialization: bool = True):
        """What PreTrainedModel.save_pretrained leaves: weights and config.json."""
        import json
        import os

        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in self.state_dict().items()}, os.path.join(out_dir, "model.safetensors"))
        with open(os.path.join(out_dir, "config.json"), "w") as f:
            json.dump({"model_type": "minicpmv", "written_by": "merged save"}, f)
