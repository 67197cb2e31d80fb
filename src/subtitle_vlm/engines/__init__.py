"""Reading engines behind one ``predict``: each turns a batch of PIL frames into subtitle strings.

    engine = load_engine("ppocr", cfg)        # cfg: predict.predict_config.PredictConfig
    texts = engine.read([img1, img2])

Modules are imported only when their engine is asked for (torch, rapidocr and the upstream model code
are heavy and optional).
"""

from __future__ import annotations

import importlib

from subtitle_vlm.engines.base import Engine

ENGINES: dict[str, str] = {
    "hf": "subtitle_vlm.engines.hf:HFEngine",
    "ppocr": "subtitle_vlm.engines.ppocr.engine:PPOCREngine",
    "minicpmv": "subtitle_vlm.engines.minicpmv:MiniCPMVEngine",
    "tinyllava": "subtitle_vlm.engines.tinyllava:TinyLLaVAEngine",
}


def load_engine(name: str, cfg) -> Engine:
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
    mod_name, cls_name = ENGINES[name].split(":")
    cls = getattr(importlib.import_module(mod_name), cls_name)
    return cls.from_config(cfg)


__all__ = ["ENGINES", "Engine", "load_engine"]
