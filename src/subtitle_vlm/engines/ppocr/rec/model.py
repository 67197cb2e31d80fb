"""The converted recogniser as one torch module: logits, CTC loss, what trains and whether BatchNorm moves.

``trainable``: ``head`` (the CTC classifier only), ``neck`` (head + the sequence encoder between backbone
and head), ``all``. ``freeze_bn``: keep BatchNorm layers in eval mode while training, so their running
statistics stay PP-OCR's (small batches of one kind of crop would otherwise drag them).

The graph splits at the backbone's output (``backbone`` and ``rest``, sharing the same parameters), so
when the backbone is frozen its features are computed once per crop and training runs only neck and head
(``forward(features=...)``): the backbone is most of the compute and none of what trains then.
"""

from __future__ import annotations

import torch
from torch import nn

TRAINABLE = {"head": ("head",), "neck": ("neck", "head"), "all": ("backbone", "neck", "head")}


class RecModel(nn.Module):
    def __init__(self, graph: nn.Module, param_section: dict[str, str], num_classes: int):
        super().__init__()
        self.graph = graph
        self.param_section = dict(param_section)
        self.num_classes = num_classes
        self.freeze_bn = False
        # Not registered as submodules: they share the graph's parameters, and a state dict (checkpoints,
        # resume) should hold each tensor once. ``_apply`` moves them along with the graph.
        object.__setattr__(self, "_parts", split_at_backbone(graph))

    @property
    def backbone(self) -> nn.Module:
        return self._parts[0]

    @property
    def rest(self) -> nn.Module:
        return self._parts[1]

    def _apply(self, fn, *args, **kwargs):
        super()._apply(fn, *args, **kwargs)
        for part in self._parts:
            part._apply(fn, *args, **kwargs)
        return self

    def forward(self, pixel_values: torch.Tensor | None = None, labels=None, label_lengths=None,
                features: torch.Tensor | None = None, **_) -> dict:
        logits = self.rest(features) if features is not None else self.graph(pixel_values)
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = ctc_loss(logits, labels, label_lengths)
        return out

    def set_trainable(self, which: str, freeze_bn: bool) -> dict:
        """Choose what trains; returns the parameter counts per section and in all."""
        if which not in TRAINABLE:
            raise ValueError(f"trainable: {which!r}; choose one of {', '.join(TRAINABLE)}")
        keep = TRAINABLE[which]
        counts = {"total": 0, "trainable": 0}
        for name, p in self.graph.named_parameters():
            sec = self.param_section.get(name, "backbone")
            p.requires_grad_(sec in keep)
            counts["total"] += p.numel()
            counts[sec] = counts.get(sec, 0) + p.numel()
            if sec in keep:
                counts["trainable"] += p.numel()
        self.freeze_bn = bool(freeze_bn)
        self.train(self.training)
        return counts

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.freeze_bn:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self


def ctc_loss(logits: torch.Tensor, labels: torch.Tensor, label_lengths: torch.Tensor) -> torch.Tensor:
    """Mean CTC loss per line (blank = 0). ``labels``: N x L padded ids; ``label_lengths``: N.
    Every sample uses the full output length: padding to the right is part of the image, as in inference."""
    log_probs = logits.float().log_softmax(-1).transpose(0, 1)  # T x N x C
    T, N = log_probs.shape[:2]
    input_lengths = torch.full((N,), T, dtype=torch.long, device=logits.device)
    targets = torch.cat([labels[i, : int(label_lengths[i])] for i in range(N)]).to(logits.device)
    loss = nn.functional.ctc_loss(log_probs, targets, input_lengths, label_lengths.to(logits.device), blank=0,
                                  reduction="none", zero_infinity=True)
    # Per line, normalised by its label length as torch's "mean" reduction does.
    return (loss / label_lengths.clamp(min=1).to(loss)).mean()


def split_at_backbone(graph_module) -> tuple[nn.Module, nn.Module]:
    """Two fx modules over the same parameters: input -> backbone features (the last pooling's output) and
    backbone features -> logits."""
    from torch import fx

    nodes = list(graph_module.graph.nodes)
    pools = [n for n in nodes if n.op == "call_module" and str(n.target).split("/")[0] in ("AveragePool", "MaxPool")]
    if not pools:
        raise ValueError("no pooling node to split the recogniser at")
    split = pools[-1]
    pos = nodes.index(split)

    head_graph = fx.Graph()
    env: dict = {split: head_graph.placeholder("features")}

    def copy(n):
        if n not in env:
            if n.op == "get_attr" or nodes.index(n) > pos:
                env[n] = head_graph.node_copy(n, lambda a: copy(a))
            else:
                raise ValueError(f"node {n.name} after the backbone uses backbone node {n.name}")
        return env[n]

    for n in nodes[pos + 1:]:
        if n.op == "output":
            head_graph.output(fx.graph.map_arg(n.args[0], copy))
        else:
            copy(n)

    back_graph = fx.Graph()
    env2: dict = {}
    for n in nodes[: pos + 1]:
        env2[n] = back_graph.node_copy(n, lambda a: env2[a])
    back_graph.output(env2[split])
    return fx.GraphModule(graph_module, back_graph), fx.GraphModule(graph_module, head_graph)
