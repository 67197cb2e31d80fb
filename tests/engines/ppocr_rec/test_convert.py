"""ONNX -> torch conversion of PP-OCR's recogniser: outputs match onnxruntime; parts split as documented."""

import numpy as np
import pytest
import torch

from subtitle_vlm.engines.ppocr.rec.convert import base_model_path, explicit_same_pads, load_onnx
from subtitle_vlm.io import InputError


def test_torch_matches_onnxruntime_on_random_input(base):
    import onnxruntime as ort

    model, info = base
    model.eval()
    sess = ort.InferenceSession(str(base_model_path()), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for n, w in ((1, 320), (2, 456)):
        x = rng.uniform(-1, 1, (n, 3, 48, w)).astype(np.float32)
        with torch.no_grad():
            got = model(torch.from_numpy(x))["logits"].softmax(-1).numpy()
        ref = sess.run(None, {sess.get_inputs()[0].name: x})[0]
        assert got.shape == ref.shape == (n, w // 8, info.num_classes)
        assert np.abs(got - ref).max() < 1e-4


def test_model_facts(base):
    model, info = base
    assert info.same_pads_fixed == 3
    assert info.num_classes == len(info.characters) + 2 == 18710
    sections = {}
    for name, p in model.graph.named_parameters():
        sections[model.param_section[name]] = sections.get(model.param_section[name], 0) + p.numel()
    assert set(sections) == {"backbone", "neck", "head"}
    assert sections["head"] == 120 * 18710 + 18710      # the CTC classifier: one linear layer
    # Every tensor that can train traces back to an ONNX initializer (export writes them there).
    assert set(model.onnx_names) >= {n for n, _ in model.graph.named_parameters()}


def test_backbone_split_reproduces_the_whole(base):
    model, _ = base
    model.eval()
    x = torch.randn(2, 3, 48, 344)
    with torch.no_grad():
        whole = model(x)["logits"]
        parts = model(features=model.backbone(x))["logits"]
    assert torch.equal(whole, parts)


def test_set_trainable_counts(base):
    model, _ = base
    head = model.set_trainable("head", freeze_bn=True)
    assert head["trainable"] == head["head"]
    neck = model.set_trainable("neck", freeze_bn=True)
    assert neck["trainable"] == neck["head"] + neck["neck"]
    model.train()
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(m.training for m in bns)      # frozen statistics
    model.set_trainable("all", freeze_bn=False)
    model.train()
    assert all(m.training for m in bns)
    model.set_trainable("head", freeze_bn=True)
    with pytest.raises(ValueError, match="trainable"):
        model.set_trainable("everything", freeze_bn=True)


def test_unhandled_auto_pad_is_named():
    from onnx import helper

    proto = load_onnx(base_model_path())
    node = next(n for n in proto.graph.node if any(a.name == "auto_pad" for a in n.attribute))
    for a in node.attribute:
        if a.name == "kernel_shape":
            a.ints[:] = [3, 3]
    with pytest.raises(InputError, match=node.name):
        explicit_same_pads(proto)
    assert helper  # the helper module is what explicit_same_pads uses


def test_missing_model_file_is_named(tmp_path):
    with pytest.raises(InputError, match="no such ONNX file"):
        load_onnx(tmp_path / "nope.onnx")
