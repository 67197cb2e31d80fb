"""The hf engine: model/adapter/merged sources, run-config prompt (and the crop the predict loop applies), batched left-padded greedy
decoding, answer-only output, device maps with offload."""

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1] / "merge"))
from lora_run_fixture import PROMPT, make_run, scrambled_base  # noqa: E402

from subtitle_vlm.engines.hf import HFEngine, clean_answer
from subtitle_vlm.engines.settings import resolve_crop
from subtitle_vlm.io import InputError
from subtitle_vlm.merge.load import parse_max_memory
from subtitle_vlm.predict.predict_config import PredictConfig

FAMILIES = ["qwen2_vl", "qwen2_5_vl", "llava", "idefics3", "smolvlm"]
SIZES = [(1280, 720), (300, 600), (640, 640), (200, 100)]  # different sizes -> different prompt lengths (Qwen)


def frames(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)) for w, h in SIZES[:n]]


def engine(model, **kw):
    """An engine on CPU from a config built in code: max_new_tokens left out (or at its default 64) lets the
    run config's value apply."""
    return HFEngine.from_config(PredictConfig(input="unused", model=str(model), device="cpu", **kw))


@pytest.fixture(scope="module")
def scrambled(tmp_path_factory):
    cache = tmp_path_factory.mktemp("bases")
    return lambda family: scrambled_base(family, cache / family)


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_adapter_merged_and_explicit_adapter_read_alike(family, scrambled, tmp_path):
    if family == "smolvlm":
        pytest.importorskip("num2words", reason="transformers' SmolVLM processor needs num2words")
    from subtitle_vlm.merge.merge import MergeConfig, merge_adapter

    base = scrambled(family)
    run = make_run(family, tmp_path / "run", base=str(base), crop="bottom=0.5")
    merge_adapter(MergeConfig(adapter=str(run), out=str(tmp_path / "merged"), verify="none"))
    imgs = frames(2)
    from_run = engine(run)
    assert from_run.prompt == PROMPT and from_run.max_new_tokens == 10
    assert resolve_crop(PredictConfig(input="unused", model=str(run))) == "bottom=0.5"
    assert from_run.describe()["adapter"] == str(run)
    readings = from_run.read(imgs)
    assert engine(tmp_path / "merged").read(imgs) == readings
    assert engine(base, adapter=str(run)).read(imgs) == readings
    assert engine(run, max_new_tokens=3).max_new_tokens == 3
    assert engine(base, prompt=PROMPT, max_new_tokens=10).read(imgs) != readings  # the adapter matters
    assert all(r == r.strip() and "\n" not in r and "<" not in r for r in readings)
    assert engine(run, prompt="別的提示").prompt == "別的提示"
    assert resolve_crop(PredictConfig(input="unused", model=str(run), crop="none")) is None


def test_batched_left_padding_matches_one_by_one(scrambled):
    eng = engine(scrambled("qwen2_vl"), prompt=PROMPT, max_new_tokens=10, batch_size=4)
    imgs = frames(4)
    batch = eng.encode(imgs)
    assert (batch["attention_mask"][:, -1] == 1).all() and (batch["attention_mask"][:, 0] == 0).any()
    together = eng.read(imgs)
    alone = [eng.read([im])[0] for im in imgs]
    assert together == alone
    assert len(set(together)) >= 3  # readings depend on the frame, so a mix-up would show


def test_output_is_the_decoded_answer_only(scrambled, monkeypatch):
    import torch

    eng = engine(scrambled("llava"), prompt=PROMPT, max_new_tokens=8)
    tok = eng.tokenizer
    answers = ["今天 好", "再見"]
    eos, pad = eng._gen_kwargs["generation_config"].eos_token_id[0], tok.pad_token_id

    def fake_generate(input_ids=None, **_):
        rows = []
        for i in range(input_ids.shape[0]):
            ids = tok.encode("  " + answers[i] + "\n", add_special_tokens=False) + [eos]
            rows.append(ids + [pad] * (8 - len(ids)))
        return torch.cat([input_ids, torch.tensor(rows)], dim=1)

    monkeypatch.setattr(eng.model, "generate", fake_generate)
    assert eng.read(frames(2)) == answers
    assert clean_answer(" 第一行\n 第二行 \n") == "第一行 第二行"


def test_device_map_with_offload_reads_like_plain_cpu(scrambled):
    base = scrambled("qwen2_vl")
    imgs = frames(2)
    plain = engine(base, prompt=PROMPT, max_new_tokens=8).read(imgs)
    split = engine(base, prompt=PROMPT, max_new_tokens=8, device_map="auto", max_memory="cpu=500KB")
    placed = set(split.model.hf_device_map.values())
    assert "disk" in placed and "cpu" in placed  # really split (here: CPU + disk; on a GPU box: GPU + CPU)
    assert split.read(imgs) == plain
    split.close()


def test_run_dir_with_a_device_map_that_spills_to_disk(scrambled, tmp_path):
    """peft cannot put an adapter on disk-offloaded layers: the engine merges first, then dispatches."""
    run = make_run("qwen2_vl", tmp_path / "run", base=str(scrambled("qwen2_vl")))
    imgs = frames(2)
    plain = engine(run).read(imgs)
    split = engine(run, device_map="auto", max_memory="cpu=500KB")
    assert "disk" in set(split.model.hf_device_map.values())
    assert split.read(imgs) == plain
    split.close()


def test_parse_max_memory():
    assert parse_max_memory("0=20GiB, 1=20GiB,cpu=64GiB") == {0: "20GiB", 1: "20GiB", "cpu": "64GiB"}
    assert parse_max_memory("cuda:1=3GB") == {1: "3GB"}
    assert parse_max_memory(None) is None
    for bad, msg in [("0:20GiB", "DEVICE=SIZE"), ("gpu=1GiB", "unknown device"), ("0=lots", "bad size")]:
        with pytest.raises(InputError, match=msg):
            parse_max_memory(bad)


def test_tiny_names_and_trust_remote_code_only_when_asked(monkeypatch):
    from transformers import AutoModelForImageTextToText

    seen = []
    real = AutoModelForImageTextToText.from_pretrained.__func__

    def spy(cls, *a, **kw):
        seen.append(kw.get("trust_remote_code"))
        return real(cls, *a, **kw)

    monkeypatch.setattr(AutoModelForImageTextToText, "from_pretrained", classmethod(spy))
    assert engine("tiny:idefics3", prompt=PROMPT, max_new_tokens=4).read(frames(1))[0] == engine(
        "tiny:idefics3", prompt=PROMPT, max_new_tokens=4, trust_remote_code=True).read(frames(1))[0]
    assert seen == [False, True]


def test_settings_precedence_flags_then_run_config_then_defaults(tmp_path):
    from subtitle_vlm.config import build_config, make_parser

    def cli(*argv):
        ns = vars(make_parser("predict", cls=PredictConfig).parse_args(["--input", "x", "--device", "cpu", *argv]))
        return HFEngine.from_config(build_config(PredictConfig, ns, None))

    run = make_run("llava", tmp_path / "run", crop="bottom=0.5")  # run config: PROMPT, bottom=0.5, 10 tokens
    from_run = cli("--model", str(run))
    assert (from_run.prompt, from_run.max_new_tokens) == (PROMPT, 10)
    assert from_run._gen_kwargs["generation_config"].max_new_tokens == 10
    # A flag the user gave wins, even one equal to the option's default.
    flags = cli("--model", str(run), "--max-new-tokens", "64", "--crop", "full", "--prompt", "p")
    assert (flags.prompt, flags.max_new_tokens) == ("p", 64)
    assert flags.describe()["max_new_tokens"] == 64 and "crop" not in flags.describe()  # the loop crops
    with pytest.raises(InputError, match="--prompt is empty"):
        cli("--model", str(run), "--prompt", "")


def test_bad_model_sources(tmp_path):
    with pytest.raises(InputError, match="no model given"):
        engine("")
    adapter_only = make_run("llava", tmp_path / "run")
    with pytest.raises(InputError, match="already an adapter"):
        engine(adapter_only, adapter=str(adapter_only))
    with pytest.raises(InputError, match="no adapter_config.json"):
        engine("tiny:llava", adapter=str(tmp_path))
