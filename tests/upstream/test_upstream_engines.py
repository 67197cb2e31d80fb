"""The minicpmv and tinyllava engines on stand-ins of model.chat, through the real predict loop: CSV in
natural id order, prompt and crop from the run config (flags win), deterministic decoding arguments,
resume after an interruption, and the inference scripts' defaults."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from subtitle_vlm.engines import load_engine
from subtitle_vlm.io import read_csv_predictions
from subtitle_vlm.predict.predict_config import PredictConfig
from subtitle_vlm.predict.runner import journal_path, run_predict

sys.path.insert(0, str(Path(__file__).parent))
from chat_standins import TEXTS, FakeMiniCPMV, FakeTinyLLaVA, make_frames  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def _script(rel: str):
    spec = importlib.util.spec_from_file_location(Path(rel).stem + "_script", REPO / rel)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run_dir(path: Path, prompt: str, crop: str = "none") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "run_config.json").write_text(json.dumps({"format": "subtitle-vlm-run/1", "kind": "adapter",
                                                      "prompt": prompt, "crop": crop, "base_model": "base"},
                                                     ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def fake_minicpmv(monkeypatch):
    """Replaces the weight loading only; from_config, the engine and the loop are the real ones."""
    state = {"model": FakeMiniCPMV(), "args": None}

    def fake_load(model_path, adapter=None, device="auto", dtype="auto", device_map=None, max_memory=None,
                  trust_remote_code=False):
        state["args"] = dict(model_path=model_path, adapter=adapter, device=device, dtype=dtype,
                             device_map=device_map, max_memory=max_memory)
        state["trust"] = trust_remote_code
        return state["model"], "TOKENIZER", adapter

    monkeypatch.setattr("subtitle_vlm.engines.minicpmv.load_minicpmv", fake_load)
    return state


def test_minicpmv_predicts_the_csv_with_run_config_prompt(tmp_path, fake_minicpmv):
    ids = make_frames(tmp_path / "frames", 12)
    run = _run_dir(tmp_path / "run", "只讀底部字幕")
    ckpt = run / "checkpoint-500"
    ckpt.mkdir()
    out = tmp_path / "pred.csv"
    cfg = PredictConfig(input=str(tmp_path / "frames"), out=str(out), engine="minicpmv", adapter=str(ckpt),
                        max_new_tokens=48, trust_remote_code=True)
    summary = run_predict(cfg, progress=False)
    assert summary.read == 12
    got = read_csv_predictions(out)
    assert list(got) == ids  # natural order: video3_5 before video3_10
    assert list(got.values()) == [TEXTS[i % len(TEXTS)] for i in range(12)]
    calls = fake_minicpmv["model"].calls
    assert len(calls) == 12
    # checkpoint-N falls back to its run directory's run config; decoding is chat(sampling=False).
    assert {c["msgs"][0]["content"] for c in calls} == {"只讀底部字幕"}
    assert all(c["sampling"] is False and c["max_new_tokens"] == 48 and c["tokenizer"] == "TOKENIZER" for c in calls)
    # With an adapter and no --model, the base comes from the run config.
    assert fake_minicpmv["args"]["model_path"] == "base" and fake_minicpmv["args"]["adapter"] == str(ckpt)


def test_minicpmv_flags_win_and_crop_is_applied(tmp_path, fake_minicpmv):
    make_frames(tmp_path / "frames", 4)
    model = _run_dir(tmp_path / "merged", "run-config prompt", crop="bottom=0.5")
    out = tmp_path / "pred.csv"
    run_predict(PredictConfig(input=str(tmp_path / "frames"), out=str(out), engine="minicpmv", model=str(model),
                              trust_remote_code=True), progress=False)
    # The crop keeps the bottom half, whose pixels carry index + 1.
    assert list(read_csv_predictions(out).values()) == [TEXTS[i + 1] for i in range(4)]
    assert fake_minicpmv["model"].calls[0]["size"] == (64, 18)
    assert fake_minicpmv["model"].calls[0]["msgs"][0]["content"] == "run-config prompt"

    fake_minicpmv["model"] = FakeMiniCPMV()
    out2 = tmp_path / "pred2.csv"
    run_predict(PredictConfig(input=str(tmp_path / "frames"), out=str(out2), engine="minicpmv", model=str(model),
                              prompt="flag prompt", crop="none", trust_remote_code=True), progress=False)
    assert list(read_csv_predictions(out2).values()) == TEXTS[:4]
    assert fake_minicpmv["model"].calls[0]["msgs"][0]["content"] == "flag prompt"


def test_minicpmv_default_prompt_without_run_config(tmp_path, fake_minicpmv):
    from subtitle_vlm.data.prompts import DEFAULT_PROMPT

    make_frames(tmp_path / "frames", 1)
    engine = load_engine("minicpmv", PredictConfig(input=str(tmp_path / "frames"), engine="minicpmv",
                                                   trust_remote_code=True))
    assert engine.prompt == DEFAULT_PROMPT and "crop" not in engine.describe()
    assert fake_minicpmv["args"]["model_path"] == "openbmb/MiniCPM-Llama3-V-2_5"
    assert engine.describe()["prompt"] == DEFAULT_PROMPT


def test_minicpmv_resumes_after_interruption(tmp_path, fake_minicpmv):
    make_frames(tmp_path / "frames", 7)
    out = tmp_path / "pred.csv"
    (tmp_path / "model").mkdir()
    cfg = PredictConfig(input=str(tmp_path / "frames"), out=str(out), engine="minicpmv",
                        model=str(tmp_path / "model"), trust_remote_code=True)
    fake_minicpmv["model"] = FakeMiniCPMV(fail_after=3)
    with pytest.raises(KeyboardInterrupt):
        run_predict(cfg, progress=False)
    assert not out.exists()
    assert len(journal_path(out).read_text(encoding="utf-8").splitlines()) == 3
    fake_minicpmv["model"] = FakeMiniCPMV()
    summary = run_predict(cfg, progress=False)
    assert summary.resumed == 3 and summary.read == 4
    assert len(fake_minicpmv["model"].calls) == 4  # only the frames not read before
    assert list(read_csv_predictions(out).values()) == [TEXTS[i] for i in range(7)]
    assert not journal_path(out).exists()


@pytest.fixture
def fake_tinyllava(monkeypatch):
    state = {"model": FakeTinyLLaVA(), "args": None}

    def fake_load(model_path, adapter=None, device="auto", dtype="auto", trust_remote_code=False):
        state["args"] = dict(model_path=model_path, adapter=adapter, device=device, dtype=dtype)
        state["trust"] = trust_remote_code
        return state["model"], "TOK", {"model": model_path, "adapter": adapter, "parts": []}

    monkeypatch.setattr("subtitle_vlm.engines.tinyllava.load_tinyllava", fake_load)
    return state


def test_tinyllava_engine_through_the_inference_script(tmp_path, fake_tinyllava):
    ids = make_frames(tmp_path / "frames", 5)
    run = _run_dir(tmp_path / "my_run", "請讀出字幕")  # no "lora" anywhere in the path
    out = tmp_path / "sub" / "pred.csv"
    (tmp_path / "sub").mkdir()
    script = _script("modification/tinyllava/inference.py")
    rc = script.main(["--model", str(tmp_path / "base"), "--adapter", str(run), "--input", str(tmp_path / "frames"),
                      "--out", str(out), "--device", "cpu", "--no-progress", "--trust-remote-code"])
    assert rc == 0
    got = read_csv_predictions(out)
    assert list(got) == ids and list(got.values()) == TEXTS[:5]
    calls = fake_tinyllava["model"].calls
    assert {c["prompt"] for c in calls} == {"請讀出字幕"}   # chat() adds the <image> line itself
    assert all(c["temperature"] == 0 and c["num_beams"] == 1 and c["tokenizer"] == "TOK" for c in calls)
    assert fake_tinyllava["args"] == {"model_path": str(tmp_path / "base"), "adapter": str(run), "device": "cpu",
                                      "dtype": "auto"}
    assert json.loads(Path(str(out) + ".config.json").read_text())["engine"] == "tinyllava"


def test_minicpmv_inference_scripts_defaults_and_overrides():
    mg = _script("modification/minicpm/multi_gpu_inference.py")
    from subtitle_vlm.upstream_cli import build_predict_config

    cfg, _, _ = build_predict_config(["--input", "x", "--model", "m"], "", mg.DEFAULTS, mg.add_args, mg.adjust)
    assert (cfg.engine, cfg.device_map, cfg.max_memory, cfg.dtype) == ("minicpmv", "auto", "0=10GiB,1=10GiB", "float16")
    cfg, _, _ = build_predict_config(["--input", "x", "--gpus", "0,1,2", "--max-memory-per-gpu", "20GiB"], "",
                                     mg.DEFAULTS, mg.add_args, mg.adjust)
    assert cfg.max_memory == "0=20GiB,1=20GiB,2=20GiB"
    cfg, _, _ = build_predict_config(["--input", "x", "--max-memory", "0=5GiB,cpu=30GiB"], "", mg.DEFAULTS,
                                     mg.add_args, mg.adjust)
    assert cfg.max_memory == "0=5GiB,cpu=30GiB"

    cpu = _script("modification/minicpm/cpu_inference.py")
    cfg, _, _ = build_predict_config(["--input", "x"], "", cpu.DEFAULTS, cpu.add_args, cpu.adjust)
    assert (cfg.engine, cfg.device, cfg.dtype, cfg.device_map) == ("minicpmv", "cpu", "float32", None)
    cfg, _, _ = build_predict_config(["--input", "x", "--gpu-memory", "8GiB"], "", cpu.DEFAULTS, cpu.add_args,
                                     cpu.adjust)
    assert (cfg.device_map, cfg.max_memory, cfg.dtype) == ("auto", "0=8GiB,cpu=64GiB", "float16")
    cfg, _, _ = build_predict_config(["--input", "x", "--dtype", "bfloat16"], "", cpu.DEFAULTS, cpu.add_args,
                                     cpu.adjust)
    assert cfg.dtype == "bfloat16"


def test_cpu_inference_script_writes_the_csv(tmp_path, fake_minicpmv):
    make_frames(tmp_path / "frames", 3)
    out = tmp_path / "pred.csv"
    summary_json = tmp_path / "summary.json"
    (tmp_path / "model").mkdir()
    rc = _script("modification/minicpm/cpu_inference.py").main(
        ["--model", str(tmp_path / "model"), "--input", str(tmp_path / "frames"), "--out", str(out), "--no-progress",
         "--summary-json", str(summary_json), "--trust-remote-code"])
    assert rc == 0
    assert list(read_csv_predictions(out).values()) == TEXTS[:3]
    assert fake_minicpmv["args"]["device"] == "cpu" and fake_minicpmv["args"]["dtype"] == "float32"
    assert json.loads(summary_json.read_text())["frames"] == 3


def test_split_device_map_keeps_the_ends_on_the_first_gpu(monkeypatch):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from minicpmv_standin import MiniCPMVStandIn

    from subtitle_vlm.engines.minicpmv import FIRST_GPU_MODULES, parse_max_memory, split_device_map

    monkeypatch.setattr(transformers.AutoConfig, "from_pretrained", classmethod(lambda cls, *a, **k: "CFG"))
    monkeypatch.setattr(transformers.AutoModel, "from_config",
                        classmethod(lambda cls, cfg, **k: MiniCPMVStandIn(vocab=64, d=32, n_layers=6)))
    budget = parse_max_memory("0=24KB,1=24KB,cpu=1GB")
    assert budget == {0: "24KB", 1: "24KB", "cpu": "1GB"}
    dmap = split_device_map("m", budget, torch.float32)
    for name in FIRST_GPU_MODULES:
        assert dmap[name] == 0, name
    assert 1 in set(dmap.values())  # the layers did not all fit on GPU 0
    with pytest.raises(ValueError, match="DEVICE=SIZE"):
        parse_max_memory("0:10GiB")


def test_engines_import_without_torch():
    import subprocess

    code = ("import sys; import subtitle_vlm.engines.minicpmv, subtitle_vlm.engines.tinyllava, "
            "subtitle_vlm.engines.minicpmv_lora, subtitle_vlm.engines.upstream_run, "
            "subtitle_vlm.upstream_cli; "
            "print(sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


# ------------------------------------------------------------ settings: flags > run config > defaults
def _cli_config(argv: list[str]) -> PredictConfig:
    """A PredictConfig parsed the way `subtitle-vlm predict` parses its flags (so it knows what was given)."""
    from subtitle_vlm.config import build_config, make_parser

    ns = vars(make_parser("predict", cls=PredictConfig).parse_args(argv))
    return build_config(PredictConfig, ns, ns.pop("config", None))


@pytest.mark.parametrize("name", ["minicpmv", "tinyllava"])
def test_run_config_token_budget_reaches_the_chat_engines(tmp_path, name, fake_minicpmv, fake_tinyllava):
    make_frames(tmp_path / "frames", 2)
    run = _run_dir(tmp_path / "run", "只讀底部字幕")
    rc = json.loads((run / "run_config.json").read_text(encoding="utf-8"))
    (run / "run_config.json").write_text(json.dumps({**rc, "max_new_tokens": 12}), encoding="utf-8")
    fake = {"minicpmv": fake_minicpmv, "tinyllava": fake_tinyllava}[name]
    base = ["--input", str(tmp_path / "frames"), "--engine", name, "--model", str(run), "--trust-remote-code"]

    # The option left at its default: the run config's budget is used (it used to be hidden by the default).
    engine = load_engine(name, _cli_config(base))
    assert engine.max_new_tokens == 12 and engine.describe()["max_new_tokens"] == 12
    engine.read([__import__("PIL.Image").Image.new("RGB", (64, 36))])
    assert fake["model"].calls[-1]["max_new_tokens"] == 12
    # Given by the user, even equal to the default, the flag wins.
    assert load_engine(name, _cli_config(base + ["--max-new-tokens", "64"])).max_new_tokens == 64
    assert load_engine(name, _cli_config(base + ["--max-new-tokens", "5"])).max_new_tokens == 5
    # Neither: the default.
    plain = _run_dir(tmp_path / "plain", "p")
    assert load_engine(name, _cli_config(base[:-3] + ["--model", str(plain), "--trust-remote-code"])).max_new_tokens == 64


# ------------------------------------------------------------ trust_remote_code means the same everywhere
def _remote_code_model(folder: Path) -> Path:
    """A model folder whose configuration module, once imported, leaves a file behind."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({
        "model_type": "leaky_vlm",
        "auto_map": {"AutoConfig": "configuration_leaky.LeakyConfig", "AutoModel": "configuration_leaky.LeakyModel",
                     "AutoModelForCausalLM": "configuration_leaky.LeakyModel"}}), encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"auto_map": {"AutoTokenizer": ["configuration_leaky.LeakyTokenizer", None]}}), encoding="utf-8")
    # transformers imports a copy of the module from its own cache, so the marker path is spelled out.
    (folder / "configuration_leaky.py").write_text(
        f"from pathlib import Path\nPath({str(folder / 'CODE_RAN')!r}).write_text('yes')\n"
        "from transformers import PretrainedConfig\n\n\nclass LeakyConfig(PretrainedConfig):\n"
        "    model_type = 'leaky_vlm'\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("name", ["minicpmv", "tinyllava"])
def test_chat_engines_run_no_model_code_without_trust_remote_code(tmp_path, name):
    pytest.importorskip("transformers")
    from subtitle_vlm.io import InputError

    model = _remote_code_model(tmp_path / "model")
    # A run config recording that the model needs its own code does not allow it either.
    (model / "run_config.json").write_text(json.dumps({"trust_remote_code": True}), encoding="utf-8")
    make_frames(tmp_path / "frames", 1)
    for cfg in (PredictConfig(input=str(tmp_path / "frames"), engine=name, model=str(model), device="cpu"),
                _cli_config(["--input", str(tmp_path / "frames"), "--engine", name, "--model", str(model),
                             "--no-trust-remote-code"])):
        with pytest.raises(InputError, match="--trust-remote-code"):
            load_engine(name, cfg)
        assert not (model / "CODE_RAN").exists()
    # The loaders themselves refuse too when called without the flag.
    from subtitle_vlm.engines.minicpmv import load_minicpmv
    from subtitle_vlm.engines.tinyllava import load_tinyllava

    loader = {"minicpmv": load_minicpmv, "tinyllava": load_tinyllava}[name]
    with pytest.raises(InputError, match="--trust-remote-code"):
        loader(str(model), device="cpu")
    assert not (model / "CODE_RAN").exists()
    # Allowed, the model's code runs (the stand-in is no real model, so loading fails after that).
    with pytest.raises(Exception):
        load_engine(name, PredictConfig(input=str(tmp_path / "frames"), engine=name, model=str(model), device="cpu",
                                        trust_remote_code=True))
    assert (model / "CODE_RAN").exists()


def test_predict_command_names_the_flag_and_runs_no_model_code(tmp_path):
    import subprocess

    model = _remote_code_model(tmp_path / "model")
    make_frames(tmp_path / "frames", 1)
    r = subprocess.run([sys.executable, "-m", "subtitle_vlm", "predict", "--engine", "minicpmv", "--model", str(model),
                        "--input", str(tmp_path / "frames"), "--out", str(tmp_path / "p.csv"), "--no-progress"],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "--trust-remote-code" in r.stderr.strip().splitlines()[-1]
    assert not (model / "CODE_RAN").exists() and not (tmp_path / "p.csv").exists()
