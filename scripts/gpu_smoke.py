"""python3 scripts/gpu_smoke.py [--cpu] [--work DIR] [--json-out FILE] [--budget 480]   (run by scripts/gpu_smoke.sh)

A smoke test of the native pipeline on one NVIDIA GPU with no network, in under 8 minutes:

    train_plain          tiny Qwen2-VL, LoRA, bf16, 20 steps, evaluation (generation + CER) at the end
    train_zero2          the same through torchrun + DeepSpeed ZeRO-2 (shipped config)
    train_zero3_offload  ZeRO-3 with optimizer and parameters offloaded to CPU (the shipped config, with
                         torch's AdamW on the CPU so no DeepSpeed op needs compiling), evaluation at the end
    merge                the plain run's adapter merged and checked against base + adapter
    predict_batched      the merged model on the GPU at batch 1 and batch 8 (frames/s, same readings?)
    predict_data_parallel  --data-parallel 2, both shards on GPU 0 (CUDA_VISIBLE_DEVICES=0,0)
    predict_device_map   --device-map auto with --max-memory so small that layers go to GPU and CPU
    train_zero3_offload_cpu_adam  (only with time to spare) the shipped ZeRO-3 offload config as is:
                         DeepSpeed's CPU Adam, compiled just in time

Prints ONE JSON line: ok, versions, and per part ok/error, seconds, losses, peak GPU memory. ``--cpu`` runs the
same parts on a CPU in fp32 with 3 steps (a dry run that proves the script itself works): DeepSpeed uses its
CPU accelerator, data parallel becomes --workers 2, and the device map splits between CPU and disk.
Frames are drawn here with Pillow's built-in font (digits), so nothing is downloaded or needs CJK fonts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = "tiny:qwen2_vl"


def log(msg: str) -> None:
    print(f"[gpu_smoke {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_frames(folder: Path, n: int, seed: int) -> Path:
    """A frame set: 640x360 frames with a number drawn as a bottom-centre subtitle, plus metadata.jsonl."""
    import random

    from PIL import Image, ImageDraw, ImageFont

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    font = ImageFont.load_default(size=36)
    rows = []
    for i in range(n):
        text = str(rng.randint(10, 99999))
        im = Image.new("RGB", (640, 360), tuple(rng.randint(0, 120) for _ in range(3)))
        d = ImageDraw.Draw(im)
        w = d.textlength(text, font=font)
        d.text(((640 - w) / 2, 290), text, font=font, fill=(255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0))
        name = f"frame_{i}.png"
        im.save(folder / name)
        rows.append(json.dumps({"file_name": name, "text": text}))
    (folder / "metadata.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def tail(path: Path, lines: int = 25, chars: int = 2500) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    all_lines = text.splitlines()
    # torchrun ends with its own launcher traceback; the child's error line is the one worth reading.
    errors = [ln for ln in all_lines if re.match(r"^\w*(Error|Exception)\b.*:", ln) and "ChildFailedError" not in ln]
    head = f"first error: {errors[0]}\n" if errors else ""
    return (head + "\n".join(all_lines[-lines:]))[-chars:]


class Smoke:
    def __init__(self, cpu: bool, work: Path, budget: float):
        self.cpu = cpu
        self.work = work
        self.t0 = time.perf_counter()
        self.deadline = self.t0 + budget
        self.parts: dict[str, dict] = {}
        self.env = dict(os.environ)
        self.env.setdefault("PYTHONPATH", str(ROOT / "src"))
        self.env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
        if cpu:
            self.env["DS_ACCELERATOR"] = "cpu"
        (work / "logs").mkdir(parents=True, exist_ok=True)

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    # ------------------------------------------------------------ running parts
    def part(self, name: str, fn, min_seconds: float = 20.0) -> dict:
        if self.left() < min_seconds:
            res = {"ok": False, "skipped": f"out of time ({self.left():.0f} s left)"}
            self.parts[name] = res
            log(f"{name}: skipped")
            return res
        log(f"{name}: start ({self.left():.0f} s left)")
        t = time.perf_counter()
        try:
            res = fn() or {}
            res.setdefault("ok", True)
        except Exception as e:  # each part reports its own failure; the others still run
            res = {"ok": False, "error": f"{type(e).__name__}: {e}"[-2500:],
                   "traceback": traceback.format_exc()[-1500:]}
        res["seconds"] = round(time.perf_counter() - t, 2)
        self.parts[name] = res
        log(f"{name}: {'ok' if res.get('ok') else 'FAILED'} in {res['seconds']} s")
        return res

    def run(self, name: str, args: list[str], timeout: float, env: dict | None = None) -> subprocess.CompletedProcess:
        logf = self.work / "logs" / f"{name}.log"
        with open(logf, "w", encoding="utf-8") as f:
            f.write("$ " + " ".join(args) + "\n")
            f.flush()
            try:
                proc = subprocess.run(args, stdout=f, stderr=subprocess.STDOUT, env=env or self.env, cwd=self.work,
                                      timeout=max(10.0, min(timeout, self.left() - 5)))
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"timed out; last output:\n{tail(logf)}") from None
        if proc.returncode != 0:
            raise RuntimeError(f"exit code {proc.returncode}; last output:\n{tail(logf)}")
        return proc

    # ------------------------------------------------------------ training
    def train(self, name: str, deepspeed: str | None, steps: int, evaluate: bool, timeout: float) -> dict:
        out = self.work / name
        args = ["--model_name_or_path", MODEL, "--train_data", str(self.work / "train"), "--output_dir", str(out),
                "--max_steps", str(steps), "--per_device_train_batch_size", "4", "--learning_rate", "2e-3",
                "--logging_steps", "1", "--save_strategy", "no", "--report_to", "none",
                "--dataloader_num_workers", "0", "--seed", "0", "--prompt", "讀出字幕"]
        args += ["--dtype", "fp32", "--use_cpu", "true"] if self.cpu else ["--dtype", "bf16"]
        if evaluate:
            args += ["--eval_data", str(self.work / "val"), "--max_eval_samples", "4",
                     "--per_device_eval_batch_size", "4"]
        if deepspeed:
            args += ["--deepspeed", deepspeed]
            cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "1",
                   "--master_port", str(free_port()), "-m", "subtitle_vlm", "train"] + args
        else:
            cmd = [sys.executable, "-m", "subtitle_vlm", "train"] + args
        self.run(name, cmd, timeout)
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        losses = [json.loads(line)["loss"] for line in (out / "log_history.jsonl").read_text().splitlines()
                  if line.strip() and "loss" in json.loads(line)]
        res = {"steps": summary.get("global_step"), "losses": [round(v, 4) for v in losses],
               "first_loss": losses[0] if losses else None, "last_loss": losses[-1] if losses else None,
               "train_seconds": summary.get("train_seconds"), "peak_memory_mb": summary.get("peak_memory_mb"),
               "peak_memory_kind": summary.get("peak_memory_kind"), "device": summary.get("device"),
               "eval": {k: v for k, v in (summary.get("eval") or {}).items() if k in (
                   "eval_loss", "eval_cer", "eval_mean_levenshtein")}}
        problems = []
        if summary.get("global_step") != steps:
            problems.append(f"trained {summary.get('global_step')} steps, expected {steps}")
        if not losses or not all(math.isfinite(v) for v in losses):
            problems.append("missing or non-finite losses")
        if not (out / "adapter_model.safetensors").is_file():
            problems.append("no adapter_model.safetensors saved")
        if evaluate and "eval_cer" not in res["eval"]:
            problems.append("no eval_cer from the generation evaluator")
        if problems:
            res.update(ok=False, error="; ".join(problems))
        return res

    def zero3_torch_adam_config(self) -> str:
        """The shipped ZeRO-3 offload config with torch's AdamW instead of DeepSpeed's compiled CPU Adam."""
        cfg = json.loads((ROOT / "src/subtitle_vlm/train/deepspeed/zero3_offload.json").read_text())
        cfg["optimizer"]["params"]["torch_adam"] = True
        path = self.work / "zero3_offload_torch_adam.json"
        path.write_text(json.dumps(cfg, indent=2))
        return str(path)

    # ------------------------------------------------------------ merge + predict
    def merge(self) -> dict:
        out = self.work / "merged"
        proc = self.run("merge", [sys.executable, "-m", "subtitle_vlm", "merge", "--adapter",
                                  str(self.work / "train_plain"), "--out", str(out), "--overwrite"], 120)
        del proc
        report = json.loads((out / "merge_report.json").read_text())
        return {k: report.get(k) for k in ("max_abs_diff", "tolerance", "adapter_effect", "dtype")}

    def _model_for_predict(self) -> str:
        merged = self.work / "merged"
        return str(merged) if (merged / "config.json").is_file() else MODEL

    def _gpu_peak_reset(self):
        import torch

        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()

    def _gpu_peak(self) -> float | None:
        import torch

        return round(torch.cuda.max_memory_allocated() / 2**20, 1) if torch.cuda.is_available() else None

    def predict_batched(self) -> dict:
        from PIL import Image

        from subtitle_vlm.engines.hf import HFEngine
        from subtitle_vlm.io import read_csv_predictions
        from subtitle_vlm.predict.predict_config import PredictConfig
        from subtitle_vlm.predict.runner import run_predict

        device = "cpu" if self.cpu else "cuda"
        cfg = PredictConfig(input=str(self.work / "predict_frames"), model=self._model_for_predict(), device=device,
                            max_new_tokens=8)
        self._gpu_peak_reset()
        engine = HFEngine.from_config(cfg)
        engine.read([Image.new("RGB", (640, 360))] * 8)  # warm-up: first calls pay one-off costs
        res: dict = {"device": engine.describe()["device"], "dtype": engine.describe()["dtype"]}
        outs = {}
        for bs in (1, 8):
            engine.batch_size = bs
            out = self.work / f"pred_b{bs}.csv"
            # The model and crop as the engine was built, so the loop crops as a real run would.
            pc = PredictConfig(input=cfg.input, out=str(out), batch_size=bs, model=cfg.model, adapter=cfg.adapter,
                               crop=cfg.crop)
            s = run_predict(pc, engine=engine,
                            progress=False)
            res[f"batch{bs}_frames_per_s"] = round(s.fps, 2)
            outs[bs] = read_csv_predictions(out)
        engine.close()
        res["speedup"] = round(res["batch8_frames_per_s"] / max(res["batch1_frames_per_s"], 1e-9), 2)
        res["same_readings_b1_b8"] = outs[1] == outs[8]
        res["frames"] = len(outs[8])
        res["peak_gpu_memory_mb"] = self._gpu_peak()
        if len(outs[8]) != len(outs[1]) or not outs[8]:
            res.update(ok=False, error="prediction CSVs are incomplete")
        return res

    def predict_data_parallel(self) -> dict:
        from subtitle_vlm.io import read_csv_predictions
        from subtitle_vlm.predict.predict_config import PredictConfig
        from subtitle_vlm.predict.runner import run_predict

        out = self.work / "pred_dp.csv"
        kw = dict(input=str(self.work / "predict_frames"), out=str(out), model=self._model_for_predict(),
                  batch_size=8, max_new_tokens=8)
        if self.cpu:
            cfg = PredictConfig(workers=2, device="cpu", **kw)
            s = run_predict(cfg, progress=False)
        else:
            old = os.environ.get("CUDA_VISIBLE_DEVICES")
            os.environ["CUDA_VISIBLE_DEVICES"] = "0,0"  # two shard processes sharing the one GPU
            try:
                s = run_predict(PredictConfig(data_parallel=2, **kw), progress=False)
            finally:
                if old is None:
                    os.environ.pop("CUDA_VISIBLE_DEVICES")
                else:
                    os.environ["CUDA_VISIBLE_DEVICES"] = old
        got, single = read_csv_predictions(out), read_csv_predictions(self.work / "pred_b8.csv")
        res = {"frames": len(got), "frames_per_s": round(s.fps, 2), "same_ids_as_single": list(got) == list(single),
               "same_readings_as_single": got == single}
        if list(got) != list(single):
            res.update(ok=False, error="data-parallel CSV ids differ from the single-process CSV")
        return res

    def predict_device_map(self) -> dict:
        from PIL import Image

        from subtitle_vlm.engines.hf import HFEngine
        from subtitle_vlm.predict.predict_config import PredictConfig

        frames = sorted((self.work / "predict_frames").glob("*.png"))[:8]
        images = [Image.open(p).convert("RGB") for p in frames]
        model = self._model_for_predict()
        device = "cpu" if self.cpu else "cuda"
        # float32 on both sides so any difference comes from the split, not from rounding.
        single = HFEngine.from_config(PredictConfig(input="-", model=model, device=device, dtype="float32",
                                                    max_new_tokens=8, batch_size=8))
        ref = single.read(images)
        single.close()
        self._gpu_peak_reset()
        # The tiny model is under 1 MB: a 500 KB cap leaves part of it for the next device in line.
        max_memory = "cpu=500KB" if self.cpu else "0=500KB,cpu=8GiB"
        split = HFEngine.from_config(PredictConfig(input="-", model=model, device_map="auto", max_memory=max_memory,
                                                   dtype="float32", max_new_tokens=8, batch_size=8))
        placement = {str(k): str(v) for k, v in (getattr(split.model, "hf_device_map", None) or {}).items()}
        got = split.read(images)
        split.close()
        places = sorted(set(placement.values()))
        res = {"max_memory": max_memory, "placement": placement, "devices_used": places,
               "same_readings_as_single_device": got == ref, "peak_gpu_memory_mb": self._gpu_peak()}
        if len(places) < 2:
            res.update(ok=False, error=f"the model was not split (placement {placement})")
        elif len(got) != len(images) or (self.cpu and got != ref):
            # On CPU both sides run the same kernels and must agree exactly; on a GPU the offloaded layers
            # still run on the GPU, so a difference is reported (same_readings_...) but not a failure.
            res.update(ok=False, error="split model reads differently from the single-device model")
        return res


def versions() -> dict:
    out = {"python": sys.version.split()[0]}
    for mod in ("torch", "transformers", "peft", "accelerate", "deepspeed"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception as e:  # report what is missing instead of failing the whole smoke
            out[mod] = f"unavailable: {type(e).__name__}"
    try:
        import torch

        out["cuda"] = torch.version.cuda
        out["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
        out["bf16_supported"] = bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    except Exception:
        pass
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cpu", action="store_true", help="dry run on a CPU (fp32, 3 steps)")
    p.add_argument("--work", help="working folder (default: a temporary one, removed at the end)")
    p.add_argument("--json-out", help="also write the summary JSON here")
    p.add_argument("--budget", type=float, default=470.0, help="seconds for everything (default 470)")
    p.add_argument("--steps", type=int, default=0, help="training steps (default 20 on GPU, 3 with --cpu)")
    p.add_argument("--skip", nargs="*", default=[], help="part names to leave out")
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    # Libraries print to stdout (DeepSpeed's logger does on import): send fd 1 to stderr for the whole run
    # and keep the real stdout for the one JSON line.
    sys.stdout.flush()
    real_stdout = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    tmp = None
    if a.work:
        work = Path(a.work).resolve()
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="gpu_smoke_")
        work = Path(tmp.name)
    os.environ.setdefault("SUBTITLE_VLM_CACHE", str(work / "cache"))
    sys.path.insert(0, str(ROOT / "src"))
    smoke = Smoke(a.cpu, work, a.budget)
    smoke.env["SUBTITLE_VLM_CACHE"] = os.environ["SUBTITLE_VLM_CACHE"]
    summary: dict = {"smoke": "cpu-dry-run" if a.cpu else "gpu"}
    try:
        summary["versions"] = versions()
        if not a.cpu and not summary["versions"].get("gpu"):
            raise SystemExit("gpu_smoke: no CUDA GPU visible; use --cpu for a dry run")
        steps = a.steps or (3 if a.cpu else 20)
        make_frames(work / "train", 16, seed=0)
        make_frames(work / "val", 4, seed=1)
        make_frames(work / "predict_frames", 24, seed=2)
        from subtitle_vlm.train.tiny import resolve_model_name

        resolve_model_name(MODEL)  # build the tiny model once, before parallel processes want it
        plan = [
            ("train_plain", lambda: smoke.train("train_plain", None, steps, True, 150), 30),
            ("train_zero2", lambda: smoke.train("train_zero2", "zero2", steps, False, 150), 30),
            ("train_zero3_offload", lambda: smoke.train("train_zero3_offload", smoke.zero3_torch_adam_config(),
                                                        steps, True, 180), 30),
            ("merge", smoke.merge, 15),
            ("predict_batched", smoke.predict_batched, 15),
            ("predict_data_parallel", smoke.predict_data_parallel, 20),
            ("predict_device_map", smoke.predict_device_map, 15),
            # DeepSpeed compiles its CPU Adam on first use (about a minute): only with time to spare.
            ("train_zero3_offload_cpu_adam", lambda: smoke.train("train_zero3_offload_cpu_adam", "zero3_offload",
                                                                 steps, False, 240), 150),
        ]
        for name, fn, min_s in plan:
            if name in a.skip:
                smoke.parts[name] = {"ok": None, "skipped": "--skip"}
                continue
            smoke.part(name, fn, min_s)
    except SystemExit as e:
        summary["error"] = str(e)
    except Exception as e:
        summary["error"] = f"{type(e).__name__}: {e}"[-2000:]
    finally:
        required = [k for k in smoke.parts if k != "train_zero3_offload_cpu_adam" and smoke.parts[k].get("ok") is not None]
        summary["ok"] = bool(required) and "error" not in summary and all(smoke.parts[k].get("ok") for k in required)
        summary["seconds"] = round(time.perf_counter() - t0, 1)
        summary["parts"] = smoke.parts
        line = json.dumps(summary, ensure_ascii=False)
        if a.json_out:
            Path(a.json_out).parent.mkdir(parents=True, exist_ok=True)
            Path(a.json_out).write_text(line + "\n", encoding="utf-8")
        print(line, file=real_stdout, flush=True)
        if tmp is not None:
            tmp.cleanup()
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
