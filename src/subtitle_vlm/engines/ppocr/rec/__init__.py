"""PP-OCR's recogniser, fine-tuned here: ONNX -> torch (``convert``, ``model``), line crops and labels from
frame records (``crops``, ``charset``, ``dataset``), CTC training with transformers' Trainer (``train``,
options in ``config``, command in ``train_rec_cli``) and export back to ONNX (``export``); the ppocr
engine loads the result with ``{"rec_model": "RUN_DIR"}`` (``load``)."""
