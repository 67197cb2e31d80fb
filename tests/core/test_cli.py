import subprocess
import sys

from subtitle_vlm.cli import COMMANDS, main


def test_help_lists_every_stage(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


def test_unknown_command_is_exit_2(capsys):
    assert main(["sinth"]) == 2
    assert "unknown command 'sinth'" in capsys.readouterr().err


def test_input_error_becomes_exit_2_with_message(tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    assert main(["score", "--gold", str(missing), "--pred", str(missing)]) == 2
    assert "nope.csv: cannot read" in capsys.readouterr().err
    rc = main(["predict", "--input", str(tmp_path / "no_such_dir"), "--engine", "ppocr"])
    assert rc == 2
    assert "no_such_dir" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    r = subprocess.run([sys.executable, "-m", "subtitle_vlm", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip()
