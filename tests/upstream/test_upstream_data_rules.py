"""The files `subtitle-vlm dataset` writes for the upstream trainers pass the rules their loaders apply
(read at the pinned commits; re-stated here independently of the exporter's own checker, which must agree):

MiniCPM-V finetune/ (9bd93a2): json.load of the file (UTF-8 under PYTHONUTF8=1); per record PIL opens
``image`` from the finetune/ folder (so paths must be absolute); ``conversations`` has more than one message,
the first from ``user``, roles only user/assistant, string contents; ``<image>`` only in the first message.
TinyLLaVA_Factory (6c581c3): PIL opens os.path.join(--image_folder, ``image``); turns alternate from
``human``/``gpt`` with as many answers as questions; the phi template strips ``<image>`` from the first
question and puts it back on its own line before it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from PIL import Image

from subtitle_vlm.cli import main as cli
from subtitle_vlm.data.check import check_file
from subtitle_vlm.data.prompts import DEFAULT_PROMPT
from subtitle_vlm.engines.upstream_run import prompt_from_training_json, write_run_config

sys.path.insert(0, str(Path(__file__).parent))
from chat_standins import make_frames  # noqa: E402

PHI_SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. "
              "The assistant gives helpful, detailed, and polite answers to the user's questions.")


def minicpmv_loader_problems(path: Path) -> list[str]:
    problems = []
    data = json.loads(path.read_bytes().decode("utf-8"))
    if not isinstance(data, list):
        return ["not a JSON list"]
    elsewhere = Path("/")  # finetune.py's working directory is not the project's
    for i, rec in enumerate(data):
        img = rec.get("image")
        if not isinstance(img, str) or not os.path.isabs(img):
            problems.append(f"{i}: image path {img!r} is not absolute")
        else:
            with Image.open(elsewhere / img) as im:
                im.convert("RGB")
        conv = rec.get("conversations")
        if not isinstance(conv, list) or len(conv) <= 1:
            problems.append(f"{i}: conversation length must be > 1")
            continue
        if conv[0].get("role") != "user":
            problems.append(f"{i}: the first role must be user")
        for j, msg in enumerate(conv):
            if msg.get("role") not in ("user", "assistant") or not isinstance(msg.get("content"), str):
                problems.append(f"{i}.{j}: role/content")
            elif j > 0 and "<image>" in msg["content"]:
                problems.append(f"{i}.{j}: <image> outside the first message stays literal text")
    return problems


def tinyllava_phi_prompts(path: Path, image_folder: Path) -> list[tuple[str, str]]:
    """(rendered phi training prompt, image path) per record, as the factory's loader would build them."""
    out = []
    for rec in json.loads(path.read_bytes().decode("utf-8")):
        img = os.path.join(str(image_folder), rec["image"])
        with Image.open(img) as im:
            im.convert("RGB")
        conv = rec["conversations"]
        assert conv[0]["from"] == "human"
        questions = [m["value"] for k, m in enumerate(conv) if k % 2 == 0]
        answers = [m["value"] for k, m in enumerate(conv) if k % 2 == 1]
        assert len(questions) == len(answers) and all(m["from"] == ("human", "gpt")[k % 2] for k, m in enumerate(conv))
        msg = PHI_SYSTEM
        for q, a in zip(questions, answers):
            if "<image>" in q:
                q = "<image>\n" + q.replace("<image>", "").strip()
            msg += " USER: " + q + " ASSISTANT: " + a + "<|endoftext|>"
        out.append((msg, img))
    return out


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    ids = make_frames(root / "frames", 8)
    gold = {json.loads(line)["file_name"]: json.loads(line)["text"]
            for line in (root / "frames" / "metadata.jsonl").read_text(encoding="utf-8").splitlines()}
    rc = cli(["dataset", "--input", str(root / "frames"), "--out", str(root / "json"), "--formats",
              "minicpmv,tinyllava", "--train-ratio", "0.75"])
    assert rc == 0
    return root, ids, gold


def test_minicpmv_files_pass_the_finetune_loader_rules(exported):
    root, _, gold = exported
    seen = 0
    for split in ("train", "val"):
        path = root / "json" / "minicpmv" / f"{split}.json"
        assert minicpmv_loader_problems(path) == []
        assert check_file(path) == []  # the exporter's own checker agrees
        for rec in json.loads(path.read_text(encoding="utf-8")):
            assert rec["conversations"][1]["content"] == gold[Path(rec["image"]).name]
            seen += 1
        assert prompt_from_training_json(path) == DEFAULT_PROMPT
    assert seen == 8


def test_tinyllava_files_pass_the_factory_loader_rules(exported):
    root, _, gold = exported
    info = json.loads((root / "json" / "tinyllava" / "info.json").read_text(encoding="utf-8"))
    folder = Path(info["image_folder"])
    assert folder == (root / "frames").resolve() or folder == root / "frames"
    path = root / "json" / "tinyllava" / "train.json"
    recs = json.loads(path.read_text(encoding="utf-8"))
    assert recs and all(not os.path.isabs(r["image"]) for r in recs)
    prompts = tinyllava_phi_prompts(path, folder)
    for (msg, img), rec in zip(prompts, recs):
        assert msg.count("<image>") == 1
        assert msg.startswith(PHI_SYSTEM + " USER: <image>\n" + DEFAULT_PROMPT + " ASSISTANT: ")
        assert msg.endswith(gold[Path(img).name] + "<|endoftext|>")
    assert check_file(path) == []
    assert prompt_from_training_json(path) == DEFAULT_PROMPT


def test_the_checkers_catch_what_the_loaders_would_reject(exported, tmp_path):
    root, _, _ = exported
    recs = json.loads((root / "json" / "minicpmv" / "train.json").read_text(encoding="utf-8"))
    bad = [dict(recs[0], image=os.path.relpath(recs[0]["image"], root)),
           dict(recs[1], conversations=[{"role": "assistant", "content": "x"}, {"role": "user", "content": "y"}]),
           dict(recs[2], conversations=recs[2]["conversations"][:1])]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    mine = minicpmv_loader_problems(path)
    assert len(mine) == 3, mine
    theirs = check_file(path, "minicpmv")
    assert {p.where.split(" ")[1] for p in theirs} >= {"0", "1", "2"}, theirs


def test_run_config_takes_the_prompt_of_the_exported_data(exported, tmp_path):
    root, _, _ = exported
    path = write_run_config("tinyllava", tmp_path / "run", "tinyllava/TinyLLaVA-Phi-2-SigLIP-3.1B",
                            root / "json" / "tinyllava" / "train.json",
                            {"image_folder": str(root / "frames"), "lora_r": 128, "num_train_epochs": 10})
    cfg = json.loads(path.read_text(encoding="utf-8"))
    assert cfg["prompt"] == DEFAULT_PROMPT and cfg["format"] == "subtitle-vlm-run/1"
    assert cfg["lora"] == {"r": 128} and cfg["training"] == {"num_train_epochs": 10}
    assert cfg["data"]["image_folder"] == str((root / "frames").resolve())
