"""Stand-in remote code: a small perceiver resampler (learned queries attending over vision features).

What upstream's trainer touches: ``resampler.pos_embed`` (a tensor it moves to the model's device before each
step) and ``resampler.attn`` (an ``nn.MultiheadAttention`` whose parameters it gathers under ZeRO-3: the
attention reads its projection weights directly, outside the hooks that would gather them).
"""

import math

import torch
from torch import nn


def sincos_2d(dim: int, height: int, width: int) -> torch.Tensor:
    """(height, width, dim) fixed 2D sine-cosine position table: half the channels for rows, half for columns."""
    quarter = dim // 4
    freq = 1.0 / (10000 ** (torch.arange(quarter, dtype=torch.float32) / max(quarter, 1)))
    rows = torch.arange(height, dtype=torch.float32)[:, None] * freq
    cols = torch.arange(width, dtype=torch.float32)[:, None] * freq
    row_emb = torch.cat([rows.sin(), rows.cos()], dim=-1)[:, None, :].expand(height, width, -1)
    col_emb = torch.cat([cols.sin(), cols.cos()], dim=-1)[None, :, :].expand(height, width, -1)
    table = torch.cat([row_emb, col_emb], dim=-1)
    if table.shape[-1] < dim:  # dim not divisible by 4: pad with zeros
        table = torch.cat([table, table.new_zeros(height, width, dim - table.shape[-1])], dim=-1)
    return table


class Resampler(nn.Module):
    def __init__(self, num_queries: int, embed_dim: int, num_heads: int, kv_dim: int, max_size=(32, 32)):
        super().__init__()
        self.num_queries = num_queries
        self.embed_dim = embed_dim
        self.query = nn.Parameter(torch.randn(num_queries, embed_dim) * 0.02)
        self.kv_proj = nn.Linear(kv_dim, embed_dim, bias=False)
        self.attn = nn.MultiheadAttention(embed_dim, num_heads)
        self.ln_q = nn.LayerNorm(embed_dim)
        self.ln_kv = nn.LayerNorm(embed_dim)
        self.ln_post = nn.LayerNorm(embed_dim)
        self.proj = nn.Parameter(torch.randn(embed_dim, embed_dim) / math.sqrt(embed_dim))
        self.register_buffer("pos_embed", sincos_2d(embed_dim, *max_size), persistent=False)

    def forward(self, x: torch.Tensor, tgt_sizes, key_padding_mask=None) -> torch.Tensor:
        """x: (N, L, kv_dim) features of N images, image i laid out tgt_sizes[i] = (h, w) patches in its first
        h*w rows (key_padding_mask marks the padding with True) -> (N, num_queries, embed_dim).

        All images go through one call, so each weight enters the graph once per step (DeepSpeed ZeRO-1/2
        refuse a parameter whose gradient arrives twice)."""
        n, length, _ = x.shape
        pos = x.new_zeros(n, length, self.embed_dim)
        for i, (h, w) in enumerate(tgt_sizes):
            h, w = int(h), int(w)
            if h > self.pos_embed.shape[0] or w > self.pos_embed.shape[1]:
                raise ValueError(f"image of {h}x{w} patches exceeds the resampler's {tuple(self.pos_embed.shape[:2])}")
            pos[i, : h * w] = self.pos_embed[:h, :w].reshape(h * w, -1).to(x.dtype)
        kv = self.ln_kv(self.kv_proj(x)).transpose(0, 1)              # (L, N, E)
        q = self.ln_q(self.query)[:, None, :].expand(-1, n, -1)       # (Q, N, E)
        out, _ = self.attn(q, kv + pos.transpose(0, 1), kv, key_padding_mask=key_padding_mask, need_weights=False)
        return self.ln_post(out.transpose(0, 1)) @ self.proj
