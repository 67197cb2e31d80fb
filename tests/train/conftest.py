"""Shared fixtures for the trainer tests: tiny models built once per session, small frame sets."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest


def skip_if_unavailable(family: str) -> None:
    """SmolVLM's processor needs num2words; skip that family where the package is missing."""
    if family == "smolvlm" and importlib.util.find_spec("num2words") is None:
        pytest.skip("SmolVLMProcessor needs the num2words package")


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory):
    """One cache for every tiny model the session builds (also what 'tiny:<family>' resolves to)."""
    path = tmp_path_factory.mktemp("tiny_cache")
    old = os.environ.get("SUBTITLE_VLM_CACHE")
    os.environ["SUBTITLE_VLM_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("SUBTITLE_VLM_CACHE", None)
    else:
        os.environ["SUBTITLE_VLM_CACHE"] = old


@pytest.fixture(scope="session")
def tiny_model(tiny_cache):
    """tiny_model(family) -> path of that family's tiny model directory (built once per session)."""
    from subtitle_vlm.train.tiny import resolve_model_name

    def get(family: str) -> str:
        skip_if_unavailable(family)
        return resolve_model_name(f"tiny:{family}")

    return get


@pytest.fixture(scope="session")
def frame_set16(tmp_path_factory):
    """16 clean synthetic frames (640x360, one short subtitle each): the trainer tests' data. Drawn with the
    font wheel's faces only, so the data is the same whichever other CJK fonts the machine has."""
    import importlib.util

    from subtitle_vlm.synth import SynthConfig, run_synth

    spec = importlib.util.find_spec("manimgx_fonts_cjk")
    if not (spec and spec.origin):
        pytest.skip("the manimgx-fonts-cjk wheel is not installed")
    out = tmp_path_factory.mktemp("frames16")
    run_synth(SynthConfig(out=str(out), count=16, seed=7, style="clean", size="640x360", p_empty=0.0,
                          max_len=12, fonts=[str(Path(spec.origin).parent)], progress=False))
    return out
