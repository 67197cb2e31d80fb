"""A fine-tuned recogniser back to ONNX: the base graph with the trained values written into it.

The exported ``rec.onnx`` is PP-OCR's own graph (same nodes, same dynamic batch and width, same
``character`` metadata, so rapidocr loads it exactly like the stock model and runs it at the same speed)
with every trained tensor replaced. ``export_model`` then runs it in onnxruntime against the torch model
(eval mode, softmax on the logits) and refuses to leave a model whose outputs differ by more than ``atol``.
Beside it: ``rec_keys.txt`` (the dictionary) and ``rec_config.json`` (base model hash, data recipe, seed).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from subtitle_vlm.engines.ppocr.rec.charset import KEYS_NAME, write_keys
from subtitle_vlm.io import InputError, atomic_write_bytes, atomic_write_json

ONNX_NAME = "rec.onnx"
CONFIG_NAME = "rec_config.json"
PARITY_ATOL = 1e-4


def write_onnx(model, base_path: str | Path, out_path: str | Path, extra_meta: dict | None = None) -> Path:
    """Write ``model``'s trained tensors into a copy of the base ONNX graph at ``out_path`` (atomically)."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(str(base_path))
    state = model.graph.state_dict()
    inits = {i.name: i for i in proto.graph.initializer}
    for key, name in model.onnx_names.items():
        arr = state[key].detach().cpu().numpy().astype(np.float32)
        old = inits[name]
        if tuple(old.dims) != arr.shape:
            raise InputError(f"{key}: shape {arr.shape} does not fit {name} {tuple(old.dims)} in {base_path}")
        old.CopyFrom(numpy_helper.from_array(arr, name))
    if extra_meta:
        for k, v in extra_meta.items():
            entry = next((p for p in proto.metadata_props if p.key == k), None) or proto.metadata_props.add()
            entry.key, entry.value = k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    out_path = Path(out_path)
    atomic_write_bytes(out_path, proto.SerializeToString())
    return out_path


def parity(model, onnx_path: str | Path, inputs: list[np.ndarray]) -> float:
    """Largest |onnxruntime - torch| over the probabilities of each input batch (N x 3 x 48 x W)."""
    import onnxruntime as ort
    import torch

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    was_training = model.training
    model.eval()
    worst = 0.0
    try:
        with torch.no_grad():
            for x in inputs:
                ref = model(torch.from_numpy(x))["logits"].float().softmax(-1).numpy()
                got = sess.run(None, {name: x})[0]
                if got.shape != ref.shape:
                    raise InputError(f"{onnx_path}: output shape {got.shape} differs from torch's {ref.shape}")
                worst = max(worst, float(np.abs(got - ref).max()))
    finally:
        model.train(was_training)
    return worst


def export_model(model, base_path: str | Path, out_dir: str | Path, characters: list[str], run_config: dict,
                 samples: list[np.ndarray] | None = None, atol: float = PARITY_ATOL) -> dict:
    """rec.onnx + rec_keys.txt + rec_config.json in ``out_dir``; returns the parity figures."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / (ONNX_NAME + ".candidate")
    write_onnx(model, base_path, tmp, {"subtitle_vlm": {"base_sha256": run_config.get("base_sha256"),
                                                        "seed": run_config.get("seed")}})
    rng = np.random.default_rng(0)
    # Random input at two batch sizes and widths (the dynamic axes), plus real crops when given.
    batches = [rng.uniform(-1, 1, (1, 3, 48, 320)).astype(np.float32),
               rng.uniform(-1, 1, (3, 3, 48, 584)).astype(np.float32)] + list(samples or [])
    diff = parity(model, tmp, batches)
    if not diff <= atol:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"export parity failed: onnxruntime differs from torch by {diff:.2e} (> {atol:.0e}); "
                           f"{out_dir / ONNX_NAME} was not written")
    tmp.replace(out_dir / ONNX_NAME)
    write_keys(out_dir / KEYS_NAME, characters)
    result = {"parity_max_abs_diff": diff, "parity_batches": [list(b.shape) for b in batches]}
    atomic_write_json(out_dir / CONFIG_NAME, {**run_config, "export": result})
    return result
