"""Resume only what was read the same way: another input, engine, model or options at --out is refused (with
--overwrite to start afresh), a second concurrent run is locked out, outputs are checked before reading,
and a JPEG missing only its end marker is read."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from subtitle_vlm.cli import main as cli_main
from subtitle_vlm.io import InputError, read_csv_predictions, write_csv_predictions
from subtitle_vlm.predict.predict_config import PredictConfig
from subtitle_vlm.predict.resume import resume_path
from subtitle_vlm.predict.runner import all_journals, open_rgb, run_predict

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from predict_fakes import ColourEngine  # noqa: E402


def frames_in(folder: Path, n: int, shade: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        Image.new("RGB", (24, 16), ((40 * k + shade) % 256, 90, 200)).save(folder / f"frame_{k}.png")
    return folder


def cfg(frames, out, **kw):
    return PredictConfig(input=str(frames), out=str(out), engine=kw.pop("engine", "x"), batch_size=2, **kw)


class Crashing(ColourEngine):
    def read(self, images):
        if self.calls:
            raise RuntimeError("killed")
        return super().read(images)


def test_a_csv_not_made_by_predict_is_refused_then_replaced_with_overwrite(tmp_path):
    frames = frames_in(tmp_path / "a", 4)
    out = tmp_path / "reuse.csv"
    write_csv_predictions(out, {f"frame_{k}": "from another engine" for k in range(4)})
    eng = ColourEngine()
    with pytest.raises(InputError, match=r"reuse\.csv is already there but no reuse\.csv\.resume\.json.*--overwrite"):
        run_predict(cfg(frames, out), engine=eng, progress=False)
    assert eng.calls == [] and read_csv_predictions(out)["frame_0"] == "from another engine"
    s = run_predict(cfg(frames, out, overwrite=True), engine=eng, progress=False)
    assert s.read == 4 and s.resumed == 0
    assert "from another engine" not in read_csv_predictions(out).values()


def test_another_frame_set_at_the_same_out_is_refused_naming_the_difference(tmp_path):
    a, b = frames_in(tmp_path / "a", 4), frames_in(tmp_path / "b", 4, shade=7)
    out = tmp_path / "p.csv"
    run_predict(cfg(a, out), engine=ColourEngine(), progress=False)
    before = out.read_bytes()
    with pytest.raises(InputError, match=r"input \(was .*/a, now .*/b\): 4 frames changed.*--overwrite"):
        run_predict(cfg(b, out), engine=ColourEngine(), progress=False)
    assert out.read_bytes() == before
    # the same set again is a finished run: nothing read
    s = run_predict(cfg(a, out), engine=ColourEngine(), progress=False)
    assert s.read == 0 and s.resumed == 4


def test_a_journal_of_a_killed_run_is_not_used_for_another_frame_set(tmp_path):
    a, b = frames_in(tmp_path / "a", 6), frames_in(tmp_path / "b", 6, shade=3)
    out = tmp_path / "p.csv"
    with pytest.raises(RuntimeError, match="killed"):
        run_predict(cfg(a, out), engine=Crashing(), progress=False)
    assert all_journals(out)[0].exists()
    eng = ColourEngine()
    with pytest.raises(InputError, match="6 frames changed"):
        run_predict(cfg(b, out), engine=eng, progress=False)
    assert eng.calls == []
    # --overwrite reads every frame of b; none of a's rows survive
    s = run_predict(cfg(b, out, overwrite=True), engine=eng, progress=False)
    assert s.read == 6 and s.resumed == 0


@pytest.mark.parametrize("change, named", [
    (dict(engine="y"), 'engine: was "x", now "y"'),
    (dict(crop="bottom=0.5"), "crop: was null, now \"bottom=0.5\""),
    (dict(prompt="read it"), "prompt"),
    (dict(engine_options={"det_limit": 960}), "engine_options"),
    (dict(max_new_tokens=8), "max_new_tokens"),
])
def test_other_settings_at_the_same_out_are_refused(tmp_path, change, named):
    frames = frames_in(tmp_path / "a", 3)
    out = tmp_path / "p.csv"
    run_predict(cfg(frames, out), engine=ColourEngine(), progress=False)
    with pytest.raises(InputError, match="other settings") as e:
        run_predict(cfg(frames, out, **change), engine=ColourEngine(), progress=False)
    assert named in str(e.value)


def test_a_model_retrained_in_the_same_folder_is_another_model(tmp_path):
    frames = frames_in(tmp_path / "a", 3)
    model = tmp_path / "run"
    model.mkdir()
    (model / "adapter_model.safetensors").write_bytes(b"one")
    out = tmp_path / "p.csv"
    run_predict(cfg(frames, out, model=str(model)), engine=ColourEngine(), progress=False)
    (model / "adapter_model.safetensors").write_bytes(b"other weights")
    with pytest.raises(InputError, match=r"model: the files of .*run changed"):
        run_predict(cfg(frames, out, model=str(model)), engine=ColourEngine(), progress=False)


def test_a_larger_limit_resumes_the_rows_of_a_smaller_one(tmp_path):
    frames = frames_in(tmp_path / "a", 5)
    out = tmp_path / "p.csv"
    run_predict(cfg(frames, out, limit=2), engine=ColourEngine(), progress=False)
    s = run_predict(cfg(frames, out), engine=ColourEngine(), progress=False)
    assert s.resumed == 2 and s.read == 3 and len(read_csv_predictions(out)) == 5


def test_a_second_concurrent_run_is_locked_out_and_a_dead_owners_lock_taken_over(tmp_path):
    frames = frames_in(tmp_path / "a", 2)
    out = tmp_path / "p.csv"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from subtitle_vlm.io import output_lock\n"
        "with output_lock(sys.argv[1], 'predict'):\n"
        "    print('held', flush=True); time.sleep(60)\n"), str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(InputError, match=rf"another predict run is writing it now .*held by {holder.pid} "):
            run_predict(cfg(frames, out), engine=ColourEngine(), progress=False)
    finally:
        holder.kill()
        holder.wait()
    lock = out.with_name("p.csv.lock")
    assert lock.exists()  # killed: its lock file stays, naming a dead pid
    s = run_predict(cfg(frames, out), engine=ColourEngine(), progress=False)
    assert s.read == 2 and not lock.exists()


def test_summary_json_that_cannot_be_written_is_found_before_reading(tmp_path, capsys):
    frames = frames_in(tmp_path / "a", 2)
    out = tmp_path / "p.csv"
    args = ["predict", "--engine", "predict_fakes:ColourEngine", "--input", str(frames), "--out", str(out),
            "--no-progress"]
    (tmp_path / "taken").mkdir()
    for bad, says in [("/proc/subtitle-vlm-test/s.json", "cannot write there"),
                      (str(tmp_path / "taken"), "a folder of that name is in the way"),
                      (str(out), "also the --out output")]:
        assert cli_main(args + ["--summary-json", bad]) == 2
        assert says in capsys.readouterr().err
        assert not out.exists() and not resume_path(out).exists()  # nothing was read or written


def test_missing_input_says_it_does_not_exist(tmp_path, capsys):
    assert cli_main(["predict", "--engine", "ppocr", "--input", str(tmp_path / "nope"),
                     "--out", str(tmp_path / "p.csv")]) == 2
    assert "nope: does not exist" in capsys.readouterr().err


def test_out_must_be_a_csv_and_not_the_input(tmp_path):
    frames = frames_in(tmp_path / "a", 1)
    with pytest.raises(InputError, match=r"--out .*p\.srt: a \.srt name for a Kaggle CSV"):
        run_predict(cfg(frames, tmp_path / "p.srt"), engine=ColourEngine(), progress=False)


def _jpeg_bytes(shade: int) -> bytes:
    import numpy as np

    rng = np.random.default_rng(shade)
    buf = io.BytesIO()
    Image.fromarray((rng.random((64, 96, 3)) * 255).astype("uint8")).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_a_jpeg_missing_only_its_end_marker_is_read_and_noted(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    whole = _jpeg_bytes(1)
    assert whole.endswith(b"\xff\xd9")
    (folder / "f1.jpg").write_bytes(whole[:-2])                 # only the end marker missing
    (folder / "f2.jpg").write_bytes(whole[:-40])                # cut inside the picture data
    (folder / "f3.jpg").write_bytes(whole)
    im = open_rgb(folder / "f1.jpg")
    with Image.open(io.BytesIO(whole)) as ref:
        assert im is not None and im.tobytes() == ref.convert("RGB").tobytes()
    assert open_rgb(folder / "f2.jpg") is None
    s = run_predict(cfg(folder, tmp_path / "p.csv"), engine=ColourEngine(batch_size=3), progress=False)
    assert [Path(p).name for p in s.no_end_marker] == ["f1.jpg"]
    assert [Path(p).name for p in s.failed] == ["f2.jpg"]
    assert s.as_dict()["jpeg_without_end_marker"] == [str(folder / "f1.jpg")]
    assert "1 JPEGs without their end marker" in str(s)
    rows = read_csv_predictions(tmp_path / "p.csv")
    assert rows["f1"] and rows["f3"] and rows["f2"] == ""
