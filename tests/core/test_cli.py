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


def test_output_piped_into_a_closed_reader_stops_quietly(tmp_path):
    many = tmp_path / "many.csv"
    many.write_text("id,text\n" + "".join(f"a{i},1,2\n" for i in range(20000)), encoding="utf-8")
    r = subprocess.run(f"'{sys.executable}' -m subtitle_vlm dataset --check '{many}' | head -n 1; "
                       "exit ${PIPESTATUS[0]}", shell=True, executable="/bin/bash", capture_output=True, text=True)
    assert r.returncode == 141, r.stderr
    assert "Traceback" not in r.stderr and r.stdout.count("\n") == 1


def test_python_dash_m_drops_the_working_directory_from_sys_path(tmp_path):
    """`python -m` puts the working directory first on sys.path; from the repository root its datasets/
    folder would shadow the Hugging Face `datasets` package on machines without it. The entry point drops it."""
    (tmp_path / "datasets" / "scripts").mkdir(parents=True)
    probe = ("import os, runpy, sys\n"
             "sys.argv = ['subtitle_vlm', '--version']\n"
             "try:\n    runpy.run_module('subtitle_vlm', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "print(any(os.path.abspath(p or os.curdir) == os.getcwd() for p in sys.path))\n")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "False", r.stdout
