"""PP-OCR's ONNX recogniser as a trainable torch module (``onnx2torch``), split into backbone, neck and head.

    model = load_base()                  # rapidocr's PP-OCRv6_rec_small.onnx
    logits = model(x)                    # x: N x 3 x 48 x W (BGR, (v/255 - 0.5) / 0.5), logits: N x T x C

Two things are changed before conversion, neither changing what the model computes:
- ``auto_pad=SAME_UPPER`` (three 2x2, stride-1 nodes in the stem) becomes explicit pads [0, 0, 1, 1]
  (top, left, bottom, right): onnx2torch does not convert auto_pad, and for a 2x2 kernel at stride 1 "same"
  padding adds one row below and one column to the right.
- the final Softmax is cut off, so the module returns logits (CTC wants log-probabilities; the softmax is
  put back at export).
onnx2torch keeps constant tensors (biases added by Add nodes, MatMul weights, LayerNorm scales) as buffers;
floating tensors with more than one element become parameters here, so they can train.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from subtitle_vlm.io import InputError, file_sha256

BASE_MODEL_NAME = "PP-OCRv6_rec_small.onnx"
SECTIONS = ("backbone", "neck", "head")


def base_model_path() -> Path:
    """The recogniser inside the installed rapidocr wheel."""
    try:
        import rapidocr
    except ImportError as e:
        raise ImportError(f"the stock recogniser ships in rapidocr: pip install 'subtitle-vlm[ppocr]' ({e})") from None
    path = Path(rapidocr.__file__).parent / "models" / BASE_MODEL_NAME
    if not path.is_file():
        raise InputError(f"{path}: not found; reinstall rapidocr 3.x, whose wheel ships {BASE_MODEL_NAME}")
    return path


def _need(module: str):
    try:
        return __import__(module)
    except ImportError as e:
        raise ImportError(f"recogniser training needs onnx and onnx2torch: pip install 'subtitle-vlm[rec]' ({e})") \
            from None


def load_onnx(path: str | Path):
    onnx = _need("onnx")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such ONNX file; pass a PP-OCR recognition model")
    try:
        return onnx.load(str(path))
    except Exception as e:  # protobuf raises several types for a file that is not a model
        raise InputError(f"{path}: not a readable ONNX model ({e})") from None


def explicit_same_pads(model) -> int:
    """Replace ``auto_pad=SAME_UPPER`` on stride-1 2x2 Conv/MaxPool nodes by pads [0, 0, 1, 1]; how many."""
    from onnx import helper

    n = 0
    for node in model.graph.node:
        attrs = {a.name: a for a in node.attribute}
        if "auto_pad" not in attrs or attrs["auto_pad"].s not in (b"SAME_UPPER", b"SAME_LOWER"):
            continue
        kernel = list(attrs["kernel_shape"].ints) if "kernel_shape" in attrs else None
        strides = list(attrs["strides"].ints) if "strides" in attrs else [1, 1]
        if kernel != [2, 2] or strides != [1, 1] or attrs["auto_pad"].s != b"SAME_UPPER":
            raise InputError(f"node {node.name}: auto_pad {attrs['auto_pad'].s.decode()} with kernel {kernel} and "
                             f"strides {strides}; only 2x2 stride-1 SAME_UPPER is handled (PP-OCRv6's stem)")
        keep = [a for a in node.attribute if a.name not in ("auto_pad", "pads")]
        del node.attribute[:]
        node.attribute.extend(keep)
        node.attribute.append(helper.make_attribute("pads", [0, 0, 1, 1]))
        n += 1
    return n


def cut_final_softmax(model) -> str:
    """Make the graph end at the logits (the final Softmax's input); returns the softmax node's name."""
    graph = model.graph
    out = graph.output[0].name
    last = next((n for n in graph.node if out in n.output), None)
    if last is None or last.op_type != "Softmax":
        raise InputError(f"the recognition model's output {out!r} is not a Softmax; not a PP-OCR CTC recogniser")
    logits = last.input[0]
    graph.node.remove(last)
    graph.output[0].name = logits
    return last.name


def section_of_nodes(model) -> dict[str, str]:
    """ONNX node name -> backbone / neck / head. The backbone ends at its last pooling node (the stride
    that makes the sequence); the head is the last MatMul and what follows it (the CTC classifier)."""
    names = [n.name for n in model.graph.node]
    ops = [n.op_type for n in model.graph.node]
    pools = [i for i, op in enumerate(ops) if op in ("AveragePool", "MaxPool", "GlobalAveragePool")]
    matmuls = [i for i, op in enumerate(ops) if op == "MatMul"]
    if not pools or not matmuls or pools[-1] > matmuls[-1]:
        raise InputError("cannot find the backbone's last pooling and the CTC head's MatMul in the recogniser")
    b_end, h_start = pools[-1], matmuls[-1]
    return {name: ("backbone" if i <= b_end else "head" if i >= h_start else "neck") for i, name in enumerate(names)}


@dataclass
class BaseInfo:
    path: str
    sha256: str
    characters: list[str]
    num_classes: int
    same_pads_fixed: int


def _module_node_name(target: str) -> str:
    # onnx2torch names a node's module after the ONNX node with '/' for '.' (Conv.3 -> "Conv/3").
    return re.sub(r"/", ".", target.split(".")[0]) if "/" in target else target


def build_torch_model(onnx_path: str | Path | None = None):
    """(RecModel, BaseInfo) for a PP-OCR rec ONNX file (default: the one in the rapidocr wheel)."""
    import torch

    _need("onnx2torch")
    from onnx2torch import convert

    from subtitle_vlm.engines.ppocr.rec.charset import characters_from_onnx
    from subtitle_vlm.engines.ppocr.rec.model import RecModel

    path = Path(onnx_path) if onnx_path else base_model_path()
    proto = load_onnx(path)
    characters = characters_from_onnx(proto)
    fixed = explicit_same_pads(proto)
    cut_final_softmax(proto)
    sections = section_of_nodes(proto)
    try:
        graph = convert(proto)
    except Exception as e:
        raise InputError(f"{path}: onnx2torch could not convert it ({type(e).__name__}: {e})") from None

    # Constant float tensors that are weights (more than one element) become parameters; scalars such as
    # GELU's 1/sqrt(2) or attention's scale stay fixed.
    owners = attr_owners(graph)
    init_mod = getattr(graph, "initializers", None)
    param_section: dict[str, str] = {}
    if init_mod is not None:
        for name, buf in list(init_mod._buffers.items()):
            if buf is not None and buf.is_floating_point() and buf.numel() > 1:
                del init_mod._buffers[name]
                init_mod.register_parameter(name, torch.nn.Parameter(buf.detach().clone()))
                owner = owners.get(f"initializers.{name}")
                param_section[f"initializers.{name}"] = sections.get(owner, "backbone") if owner else "backbone"
    for name, _ in graph.named_parameters():
        if name not in param_section:
            param_section[name] = sections.get(_module_node_name(name.rsplit(".", 1)[0]), "backbone")
    num_classes = len(characters) + 2
    model = RecModel(graph, param_section, num_classes)
    model.onnx_names = onnx_initializer_names(graph, proto)
    info = BaseInfo(path=str(path), sha256=file_sha256(path), characters=characters, num_classes=num_classes,
                    same_pads_fixed=fixed)
    return model, info


def attr_owners(graph) -> dict[str, str]:
    """Each constant the converted graph reads (``get_attr`` target) -> the ONNX node of the first module
    that uses it."""
    owners: dict[str, str] = {}
    for node in graph.graph.nodes:
        if node.op == "get_attr":
            for user in node.users:
                if user.op == "call_module":
                    owners.setdefault(node.target, _module_node_name(str(user.target)))
    return owners


_MODULE_INPUTS = {"weight": 1, "bias": 2, "running_mean": 3, "running_var": 4}


def onnx_initializer_names(graph, proto) -> dict[str, str]:
    """torch state-dict key -> the ONNX initializer it came from, for every tensor that can change in
    training (parameters and BatchNorm statistics). Found through the node that uses it and checked by
    value, so export can write trained values back into the original graph."""
    import numpy as np
    from onnx import numpy_helper

    nodes = {n.name: n for n in proto.graph.node}
    inits = {i.name: i for i in proto.graph.initializer}
    state = graph.state_dict()
    names: dict[str, str] = {}

    def pick(node_name: str, tensor, position: int | None) -> str | None:
        node = nodes.get(node_name)
        if node is None:
            return None
        cands = [node.input[position]] if position is not None and position < len(node.input) else list(node.input)
        for c in cands:
            if c in inits:
                arr = numpy_helper.to_array(inits[c])
                t = tensor.detach().cpu().numpy()
                if arr.shape == t.shape and np.array_equal(arr, t):
                    return c
        return None

    owners = attr_owners(graph)
    trainable = {n for n, _ in graph.named_parameters()}
    for key, tensor in state.items():
        if not tensor.is_floating_point():
            continue
        if key.startswith("initializers."):
            if key not in trainable:
                continue
            found = pick(owners.get(key, ""), tensor, None)
        else:
            leaf = key.rsplit(".", 1)[1]
            if leaf not in _MODULE_INPUTS or (key not in trainable and leaf not in ("running_mean", "running_var")):
                continue
            found = pick(_module_node_name(key.rsplit(".", 1)[0]), tensor, _MODULE_INPUTS[leaf])
        if found is None:
            raise InputError(f"cannot trace the trained tensor {key} back to an ONNX initializer; "
                             "this recogniser's graph is not one train-rec can export")
        names[key] = found
    return names
