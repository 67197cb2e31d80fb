"""Export parity, and the ppocr engine reading with a fine-tuned model folder; bad paths say what to pass."""

import numpy as np
import pytest
import torch

from subtitle_vlm.engines.ppocr.rec.crops import batch_images
from subtitle_vlm.engines.ppocr.rec.export import export_model, parity, write_onnx
from subtitle_vlm.io import InputError


@pytest.fixture()
def model(base):
    m, info = base
    saved = {k: v.clone() for k, v in m.graph.state_dict().items()}
    yield m
    m.graph.load_state_dict(saved)


def test_written_onnx_matches_torch_after_a_change(model, tmp_path, base):
    with torch.no_grad():
        head = dict(model.graph.named_parameters())
        for name, p in head.items():
            if model.param_section[name] == "head":
                p.add_(0.05 * torch.randn_like(p))
    path = write_onnx(model, base[1].path, tmp_path / "rec.onnx")
    x = np.random.default_rng(1).uniform(-1, 1, (2, 3, 48, 400)).astype(np.float32)
    assert parity(model, path, [x]) < 1e-4
    # ...and differs from the stock model, so the check can fail.
    assert parity(model, base[1].path, [x]) > 1e-3


def test_export_refuses_a_model_that_does_not_match(model, tmp_path, base, monkeypatch):
    import subtitle_vlm.engines.ppocr.rec.export as export

    real = export.write_onnx

    def stale(m, base_path, out_path, extra_meta=None):
        # Writes the stock weights whatever the model holds: parity must catch it.
        import shutil
        shutil.copyfile(base_path, out_path)
        return out_path

    with torch.no_grad():
        # Random, not constant: a constant added to every class's weights leaves the softmax unchanged.
        next(p for n, p in model.graph.named_parameters() if model.param_section[n] == "head").add_(
            torch.randn_like(next(p for n, p in model.graph.named_parameters() if model.param_section[n] == "head")))
    monkeypatch.setattr(export, "write_onnx", stale)
    with pytest.raises(RuntimeError, match="parity failed"):
        export_model(model, base[1].path, tmp_path, base[1].characters, {"seed": 0})
    assert not (tmp_path / "rec.onnx").exists()
    assert real


def _run_dir(model, base, tmp_path):
    out = tmp_path / "run"
    export_model(model, base[1].path, out, base[1].characters, {"seed": 0, "base_sha256": base[1].sha256})
    return out


def test_engine_reads_with_a_fine_tuned_model_folder(model, base, tmp_path, frame_set):
    from PIL import Image

    from subtitle_vlm.engines.ppocr.engine import PPOCROptions, _new_rapidocr, parse_engine_options
    from subtitle_vlm.engines.ppocr.rec.crops import detector_box, line_boxes
    from subtitle_vlm.io import read_jsonl

    out = _run_dir(model, base, tmp_path)
    ocr_opts, _ = parse_engine_options({"rec_model": str(out)})
    ocr = _new_rapidocr(ocr_opts)
    rec = read_jsonl(frame_set / "metadata.jsonl")[0]
    bgr = np.asarray(Image.open(frame_set / rec["file_name"]).convert("RGB"))[:, :, ::-1]
    text, ink = line_boxes(rec)[0]
    x0, y0, x1, y1 = detector_box(ink, bgr.shape[1], bgr.shape[0])
    crop = np.ascontiguousarray(bgr[y0:y1, x0:x1])
    got = ocr(crop, use_det=False, use_cls=False, use_rec=True)
    assert got.txts[0] == text
    # The engine ran our file: rapidocr's recogniser session is the exported model.
    assert _new_rapidocr(PPOCROptions(rec_model=str(out / "rec.onnx"))) is not None
    assert batch_images


def test_engine_uses_the_fine_tuned_weights(model, base, tmp_path, frame_set):
    """A model whose head was broken reads differently through the engine: the option is not ignored."""
    from PIL import Image

    from subtitle_vlm.engines.ppocr.engine import PPOCROptions, _new_rapidocr
    from subtitle_vlm.engines.ppocr.rec.crops import detector_box, line_boxes
    from subtitle_vlm.io import read_jsonl

    with torch.no_grad():
        for n, p in model.graph.named_parameters():
            if model.param_section[n] == "head":
                p.mul_(-1.0)
    out = _run_dir(model, base, tmp_path)
    rec = read_jsonl(frame_set / "metadata.jsonl")[0]
    bgr = np.asarray(Image.open(frame_set / rec["file_name"]).convert("RGB"))[:, :, ::-1]
    text, ink = line_boxes(rec)[0]
    x0, y0, x1, y1 = detector_box(ink, bgr.shape[1], bgr.shape[0])
    crop = np.ascontiguousarray(bgr[y0:y1, x0:x1])
    stock = _new_rapidocr(PPOCROptions(threads=1))(crop, use_det=False, use_cls=False, use_rec=True).txts[0]
    tuned = _new_rapidocr(PPOCROptions(threads=1, rec_model=str(out)))(crop, use_det=False, use_cls=False,
                                                                      use_rec=True).txts[0]
    assert stock == text and tuned != text


def test_bad_model_paths_say_what_to_pass(tmp_path):
    from subtitle_vlm.engines.ppocr.engine import PPOCROptions, _new_rapidocr, parse_engine_options

    with pytest.raises(InputError, match="does not exist"):
        parse_engine_options({"rec_model": str(tmp_path / "missing")})
    with pytest.raises(InputError, match="holds no rec.onnx"):
        parse_engine_options({"rec_model": str(tmp_path)})
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="not an .onnx file"):
        parse_engine_options({"rec_model": str(tmp_path / "notes.txt")})
    (tmp_path / "rec.onnx").write_bytes(b"not a model")
    with pytest.raises(InputError, match="rapidocr cannot load it"):
        _new_rapidocr(PPOCROptions(threads=1, rec_model=str(tmp_path)))
