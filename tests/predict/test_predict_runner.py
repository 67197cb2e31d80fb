"""The predict loop: resume after an interruption, corrupt frames, natural order, CSV format, sharding."""

import csv
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from subtitle_vlm.io import InputError
from subtitle_vlm.predict.predict_config import PredictConfig
from subtitle_vlm.predict.runner import all_journals, run_predict

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from predict_fakes import ColourEngine, WholeFrameEngine, colour_text  # noqa: E402


def make_frames(folder: Path, ids, metadata=True):
    folder.mkdir(parents=True, exist_ok=True)
    for k, i in enumerate(ids):
        Image.new("RGB", (32, 18), (10 * k % 256, 255 - 7 * k % 256, 3 * k)).save(folder / f"{i}.jpg", quality=95)
    if metadata:
        (folder / "metadata.jsonl").write_text(
            "".join(json.dumps({"file_name": f"{i}.jpg", "text": ""}) + "\n" for i in ids), encoding="utf-8")
    return folder


def expected(folder: Path, ids):
    out = {}
    for i in ids:
        with Image.open(folder / f"{i}.jpg") as im:
            out[i] = colour_text(im)
    return out


def read_csv_rows(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


IDS = ["video3_10", "video3_2", "video3_1", "video10_1", "video3_33", "video3_3", "video1_100"]
ORDER = ["video1_100", "video3_1", "video3_2", "video3_3", "video3_10", "video3_33", "video10_1"]


def test_natural_order_and_csv_format(tmp_path):
    frames = make_frames(tmp_path / "in", IDS)
    out = tmp_path / "pred.csv"
    cfg = PredictConfig(input=str(frames), out=str(out), engine="x", batch_size=3)
    s = run_predict(cfg, engine=ColourEngine(batch_size=3), progress=False)
    rows = read_csv_rows(out)
    assert rows[0] == ["id", "text"]
    assert [r[0] for r in rows[1:]] == ORDER
    want = expected(frames, IDS)
    assert {r[0]: r[1] for r in rows[1:]} == want  # commas and quotes survive the CSV round trip
    assert '""q"""\n' in out.read_text(encoding="utf-8")  # standard CSV quoting
    assert s.read == 7 and s.resumed == 0 and not s.failed
    assert not any(p.exists() for p in all_journals(out))  # journal removed once the CSV is whole


def test_resume_after_exception_skips_journaled_ids(tmp_path):
    frames = make_frames(tmp_path / "in", IDS)
    out = tmp_path / "pred.csv"
    cfg = PredictConfig(input=str(frames), out=str(out), engine="x", batch_size=2)

    class Crashing(ColourEngine):
        def read(self, images):
            if len(self.calls) == 2:
                raise RuntimeError("out of memory")
            return super().read(images)

    with pytest.raises(RuntimeError, match="out of memory"):
        run_predict(cfg, engine=Crashing(batch_size=2), progress=False)
    assert not out.exists()
    journaled = [json.loads(x)["id"] for x in all_journals(out)[0].read_text().splitlines()]
    assert journaled == ORDER[:4]
    eng = ColourEngine(batch_size=2)
    s = run_predict(cfg, engine=eng, progress=False)
    assert sum(eng.calls) == 3 and s.resumed == 4 and s.read == 3
    assert {r[0]: r[1] for r in read_csv_rows(out)[1:]} == expected(frames, IDS)


def _env_with_fakes():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def test_resume_after_kill(tmp_path):
    frames = make_frames(tmp_path / "in", IDS)
    out = tmp_path / "pred.csv"
    marker = tmp_path / "stalled"
    opts = json.dumps({"stall_after": 2, "marker": str(marker)})
    proc = subprocess.Popen([sys.executable, "-m", "subtitle_vlm", "predict", "--engine", "predict_fakes:StallingEngine",
                             "--input", str(frames), "--out", str(out), "--batch-size", "2", "--no-progress",
                             "--engine-options", opts], env=_env_with_fakes())
    deadline = time.time() + 60
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    assert marker.exists(), "the stalling engine never reached its stall point"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # a crash mid-append leaves a partial line: the rerun must cut it, not fail
    with open(all_journals(out)[0], "a", encoding="utf-8") as f:
        f.write('{"id": "video3_3", "te')
    eng = ColourEngine(batch_size=2)
    # the same settings as the killed run (engine and options are part of what a resume must match)
    s = run_predict(PredictConfig(input=str(frames), out=str(out), engine="predict_fakes:StallingEngine",
                                  batch_size=2, engine_options=json.loads(opts)), engine=eng, progress=False)
    assert s.resumed == 4 and sum(eng.calls) == 3
    assert {r[0]: r[1] for r in read_csv_rows(out)[1:]} == expected(frames, IDS)


def test_corrupt_frames_get_empty_prediction_and_warning(tmp_path, caplog):
    frames = make_frames(tmp_path / "in", ["a1", "a2", "a3", "a4"], metadata=False)
    good = (frames / "a2.jpg").read_bytes()
    (frames / "a2.jpg").write_bytes(good[: len(good) // 2])          # truncated JPEG
    (frames / "a3.jpg").write_text("this is not an image\n")         # not an image at all
    out = tmp_path / "pred.csv"
    cfg = PredictConfig(input=str(frames), out=str(out), engine="x", batch_size=4)
    eng = ColourEngine(batch_size=4)
    with caplog.at_level(logging.WARNING):
        s = run_predict(cfg, engine=eng, progress=False)
    rows = {r[0]: r[1] for r in read_csv_rows(out)[1:]}
    assert rows["a2"] == "" and rows["a3"] == ""
    assert rows["a1"].startswith("色") and rows["a4"].startswith("色")
    assert eng.calls == [2]  # the good frames still went through in one batch
    assert sorted(Path(p).name for p in s.failed) == ["a2.jpg", "a3.jpg"]
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "a2.jpg" in warned and "a3.jpg" in warned
    assert "2 unreadable" in str(s)


def _red_over_blue(folder: Path) -> Path:
    folder.mkdir()
    im = Image.new("RGB", (40, 30), (200, 0, 0))
    im.paste((0, 0, 200), (0, 20, 40, 30))  # bottom third blue
    im.save(folder / "f1.png")
    return folder


def test_the_loop_crops_to_the_flag_else_the_run_config(tmp_path):
    """The loop resolves the crop once (--crop > the run config of --model/--adapter > whole frame) and
    hands the engine cropped frames; the engine itself knows nothing of crops."""
    folder = _red_over_blue(tmp_path / "in")
    run = tmp_path / "run"
    run.mkdir()
    (run / "run_config.json").write_text(json.dumps({"format": "subtitle-vlm-run/1", "crop": "bottom=0.33"}))

    def read(name, **kw):
        eng = ColourEngine()
        run_predict(PredictConfig(input=str(folder), out=str(tmp_path / name), engine="x", **kw), engine=eng,
                    progress=False)
        return read_csv_rows(tmp_path / name)[1][1], eng.sizes

    assert read("flag.csv", crop="bottom=0.33") == ('色 0,0,200 "q"', [(40, 10)])
    assert read("run.csv", model=str(run)) == ('色 0,0,200 "q"', [(40, 10)])
    assert read("whole.csv", model=str(run), crop="none")[1] == [(40, 30)]
    with pytest.raises(InputError, match="bad crop 'bottom=7'"):
        read("bad.csv", crop="bottom=7")


def test_engines_that_find_the_subtitle_get_whole_frames(tmp_path, caplog):
    folder = _red_over_blue(tmp_path / "in")
    eng = WholeFrameEngine()
    with caplog.at_level(logging.WARNING):
        run_predict(PredictConfig(input=str(folder), out=str(tmp_path / "p.csv"), engine="x", crop="bottom=0.33"),
                    engine=eng, progress=False)
    assert eng.sizes == [(40, 30)]
    assert "whole engine reads whole frames" in caplog.text


def test_two_workers_match_one_and_resume_across_counts(tmp_path, monkeypatch):
    ids = [f"clip_{i}" for i in range(11)]
    frames = make_frames(tmp_path / "in", ids)
    (frames / "clip_5.jpg").write_bytes(b"\xff\xd8\xff garbage")
    monkeypatch.setenv("PYTHONPATH", _env_with_fakes()["PYTHONPATH"])
    base = dict(input=str(frames), engine="predict_fakes:ColourEngine", batch_size=3)
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    s1 = run_predict(PredictConfig(out=str(one), **base), progress=False)
    s2 = run_predict(PredictConfig(out=str(two), workers=2, **base), progress=False)
    assert one.read_bytes() == two.read_bytes()
    assert s1.read == s2.read == 11
    assert [Path(p).name for p in s2.failed] == ["clip_5.jpg"]  # gathered from the shard processes
    assert [p.name for p in tmp_path.iterdir() if "journal" in p.name or "summary" in p.name] == []

    # an interrupted 1-process run resumed with 3 workers: the journaled ids are not read again
    three = tmp_path / "three.csv"

    class Crashing(ColourEngine):
        def read(self, images):
            if self.calls:
                raise RuntimeError("killed")
            return super().read(images)

    with pytest.raises(RuntimeError, match="killed"):
        run_predict(PredictConfig(out=str(three), **{**base, "batch_size": 4}), engine=Crashing(batch_size=4),
                    progress=False)
    journal = all_journals(three)[0]
    assert [json.loads(x)["id"] for x in journal.read_text().splitlines()] == ids[:4]
    # mark the journaled rows, to see below that they are taken from the journal, not read again
    journal.write_text("".join(json.dumps({"id": i, "text": "from journal"}) + "\n" for i in ids[:4]))
    s3 = run_predict(PredictConfig(out=str(three), workers=3, **base), progress=False)
    rows = {r[0]: r[1] for r in read_csv_rows(three)[1:]}
    assert s3.resumed == 4 and s3.read == 7
    assert [rows[i] for i in ids[:4]] == ["from journal"] * 4
    assert rows == {**{r[0]: r[1] for r in read_csv_rows(one)[1:]}, **{i: "from journal" for i in ids[:4]}}
    # a finished run rerun reads nothing and loads no engine
    s4 = run_predict(PredictConfig(out=str(three), workers=3, **base), progress=False)
    assert s4.read == 0 and s4.resumed == 11
