"""engines.settings: the one resolution of prompt, token budget and remote code for every model engine, and of
the crop every caller applies before an engine reads (flags > run config > defaults). The engines' own tests check that each of them uses it end to end
(tests/engines/test_hf_engine.py, tests/upstream/test_upstream_engines.py)."""

import json

import pytest

from subtitle_vlm.config import build_config, make_parser
from subtitle_vlm.data.prompts import DEFAULT_PROMPT
from subtitle_vlm.engines.settings import (chat_model_path, crop_for, require_remote_code, resolve_crop,
                                          resolve_settings)
from subtitle_vlm.io import InputError
from subtitle_vlm.predict.predict_config import PredictConfig


def cli(*argv: str) -> PredictConfig:
    ns = vars(make_parser("predict", cls=PredictConfig).parse_args(["--input", "x", *argv]))
    return build_config(PredictConfig, ns, ns.pop("config", None))


def run_dir(path, **cfg):
    path.mkdir(parents=True)
    (path / "run_config.json").write_text(json.dumps({"format": "subtitle-vlm-run/1", **cfg}), encoding="utf-8")
    return path


def settle(*argv):
    """What one command line resolves to: the engine settings and the crop."""
    cfg = cli(*argv)
    return resolve_settings(cfg), resolve_crop(cfg)


def test_defaults_without_a_run_config(tmp_path):
    s, crop = settle("--model", str(tmp_path))
    assert (s.prompt, crop, s.max_new_tokens, s.trust_remote_code, s.run_config) == (DEFAULT_PROMPT, None, 64,
                                                                                       False, {})
    assert resolve_settings(cli("--model", "tiny:llava")).prompt == DEFAULT_PROMPT  # not a folder: no run config


def test_run_config_fills_what_the_flags_leave(tmp_path):
    run = run_dir(tmp_path / "run", prompt="讀字幕", crop="bottom=0.4", max_new_tokens=12, trust_remote_code=True)
    s, crop = settle("--model", str(run))
    assert (s.prompt, crop, s.max_new_tokens) == ("讀字幕", "bottom=0.4", 12)
    assert s.trust_remote_code is False  # a run config records remote code, it never allows it
    # The same through a --config file: the file is the user's choice too.
    f = tmp_path / "p.yaml"
    f.write_text("max_new_tokens: 64\ncrop: none\n")
    s, crop = settle("--model", str(run), "--config", str(f))
    assert (crop, s.max_new_tokens) == (None, 64)


def test_flags_win_even_when_equal_to_the_defaults(tmp_path):
    run = run_dir(tmp_path / "run", prompt="讀字幕", crop="bottom=0.4", max_new_tokens=12)
    s, crop = settle("--model", str(run), "--prompt", "p", "--crop", "full", "--max-new-tokens", "64",
                     "--trust-remote-code")
    assert (s.prompt, crop, s.max_new_tokens, s.trust_remote_code) == ("p", None, 64, True)
    # Built in code (the video command, tests), the default value means "not chosen".
    assert resolve_settings(PredictConfig(input="x", model=str(run), max_new_tokens=64)).max_new_tokens == 12
    assert resolve_settings(PredictConfig(input="x", model=str(run), max_new_tokens=7)).max_new_tokens == 7


def test_adapter_run_config_wins_and_checkpoints_fall_back_to_their_run(tmp_path):
    model = run_dir(tmp_path / "merged", prompt="model's", base_model="b0")
    run = run_dir(tmp_path / "run", prompt="adapter's", base_model="b1", crop="auto")
    (run / "checkpoint-20").mkdir()
    s, crop = settle("--model", str(model), "--adapter", str(run / "checkpoint-20"))
    assert (s.prompt, crop) == ("adapter's", "auto")
    # Chat engines: --model wins, else the adapter's base, else the recipe's model.
    assert chat_model_path(cli("--adapter", str(run)), resolve_settings(cli("--adapter", str(run))), "hub") == "b1"
    assert chat_model_path(cli("--model", "m", "--adapter", str(run)), s, "hub") == "m"
    assert chat_model_path(cli(), resolve_settings(cli()), "hub") == "hub"


def test_bad_settings_say_what_to_change(tmp_path):
    with pytest.raises(InputError, match="--prompt is empty"):
        resolve_settings(cli("--prompt", " "))
    with pytest.raises(InputError, match="bad crop 'bottom=2'"):
        resolve_crop(cli("--crop", "bottom=2"))
    run = run_dir(tmp_path / "run", crop="middle")
    with pytest.raises(InputError, match="bad crop 'middle'"):
        resolve_crop(cli("--model", str(run)))
    bad_budget = run_dir(tmp_path / "budget", max_new_tokens="lots")
    with pytest.raises(InputError, match="max_new_tokens is 'lots'.*--max-new-tokens"):
        resolve_settings(cli("--model", str(bad_budget)))
    with pytest.raises(InputError, match="--max-new-tokens is 0"):
        resolve_settings(cli("--max-new-tokens", "0"))


def test_remote_code_needs_the_flag():
    with pytest.raises(InputError, match="--engine minicpmv runs the Python code.*--trust-remote-code"):
        require_remote_code(resolve_settings(cli()), "minicpmv", "m")
    require_remote_code(resolve_settings(cli("--trust-remote-code")), "minicpmv", "m")


def test_shard_processes_resolve_the_same_settings(tmp_path, monkeypatch):
    """`--workers` / `--data-parallel` start one `predict --shard` per process; each must resolve what the
    parent would: a budget the user left out must not arrive in the shard as if given."""
    from subtitle_vlm.predict import runner

    run = run_dir(tmp_path / "run", max_new_tokens=12)
    started = []
    monkeypatch.setattr(runner.subprocess, "Popen", lambda args, env: started.append(args))

    def child_settings(*argv):
        started.clear()
        runner._spawn_shards(cli("--model", str(run), "--out", str(tmp_path / "p.csv"), *argv), 2, gpus=False)
        child = started[0][started[0].index("predict") + 1:]
        i = child.index("--summary-json")  # an option of the command, not of PredictConfig
        del child[i:i + 2]
        ns = vars(make_parser("predict", cls=PredictConfig).parse_args(child))
        cfg = build_config(PredictConfig, ns, ns.pop("config", None))
        return resolve_settings(cfg), resolve_crop(cfg)

    assert child_settings()[0].max_new_tokens == 12
    assert child_settings("--max-new-tokens", "64")[0].max_new_tokens == 64
    assert child_settings("--max-new-tokens", "3", "--crop", "bottom=0.2")[1] == "bottom=0.2"


def test_engines_that_read_whole_frames_get_no_crop(tmp_path, caplog):
    class Model:
        name = "model"

    class Finder:
        name = "finder"
        reads_whole_frame = True

    run = run_dir(tmp_path / "run", crop="bottom=0.4")
    crop = resolve_crop(cli("--model", str(run)))
    assert crop_for(Model(), crop) == "bottom=0.4"
    assert crop_for(Finder(), None) is None and not caplog.records
    with caplog.at_level("WARNING"):
        assert crop_for(Finder(), crop) is None
    assert "finder engine reads whole frames" in caplog.text and "bottom=0.4" in caplog.text
