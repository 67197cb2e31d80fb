"""The light commands (synth, preview, dataset, score) run without the heavy stack: they never import torch,
transformers and the like, and a plain `pip install -e .` does not pull them in."""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "torchvision", "transformers", "peft", "accelerate", "deepspeed", "datasets", "rapidocr",
         "onnxruntime", "av", "cv2", "matplotlib", "sklearn", "skimage", "scipy", "pandas")

SCRIPT = r"""
import json, sys
from pathlib import Path
from subtitle_vlm.cli import main

tmp = Path(sys.argv[1])
rcs = [
    main(["synth", "--out", str(tmp / "fs"), "--count", "3", "--size", "160x90", "--no-progress"]),
    main(["preview", "--input", str(tmp / "fs"), "--out", str(tmp / "grid.png")]),
    main(["dataset", "--input", str(tmp / "fs"), "--out", str(tmp / "ds"), "--train-ratio", "0.5"]),
    main(["dataset", "--check", str(tmp / "ds" / "minicpmv" / "train.json")]),
    main(["score", "--gold", str(tmp / "ds" / "gold" / "val.csv"), "--pred", str(tmp / "ds" / "gold" / "val.csv")]),
]
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[2].split(",")))
print(json.dumps({"rcs": rcs, "heavy": heavy}))
"""


def test_light_commands_import_nothing_heavy(tmp_path):
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), ",".join(HEAVY)], capture_output=True,
                       text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got == {"rcs": [0, 0, 0, 0, 0], "heavy": []}, r.stderr


def test_core_dependencies_leave_the_heavy_stack_to_extras():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {d.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip().lower()
             for d in project["dependencies"]}
    assert not names & {h.lower() for h in HEAVY}
    assert "torch" in " ".join(project["optional-dependencies"]["train"])
