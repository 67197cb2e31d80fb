"""Where a fine-tuned recogniser lives: ``rec_model`` (a train-rec run folder or an .onnx file) -> the
model and dictionary paths rapidocr takes (``Rec.model_path``, ``Rec.rec_keys_path``)."""

from __future__ import annotations

from pathlib import Path

from subtitle_vlm.engines.ppocr.rec.charset import KEYS_NAME

ONNX_NAME = "rec.onnx"


def resolve_rec_model(spec: str) -> tuple[str, str | None]:
    """(model path, keys path or None); ValueError saying what to pass when ``spec`` holds no model."""
    p = Path(spec).expanduser()
    if p.is_dir():
        model = p / ONNX_NAME
        if not model.is_file():
            raise ValueError(f"rec_model: {p} holds no {ONNX_NAME}; pass a folder written by "
                             "subtitle-vlm train-rec (it exports rec.onnx at the end) or an .onnx file")
    elif p.is_file():
        if p.suffix.lower() != ".onnx":
            raise ValueError(f"rec_model: {p} is not an .onnx file; pass a train-rec run folder or its rec.onnx")
        model = p
    else:
        raise ValueError(f"rec_model: {p} does not exist; pass a train-rec run folder (e.g. runs/rec) or an "
                         ".onnx recognition model")
    keys = model.parent / KEYS_NAME
    return str(model), (str(keys) if keys.is_file() else None)
