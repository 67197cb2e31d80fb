"""Config files and flags given wrong: encodings, YAML types that would pass silently, short argparse errors."""

from dataclasses import dataclass, field

import pytest

from subtitle_vlm.config import parse_config
from subtitle_vlm.io import InputError


@dataclass
class Opts:
    count: int = field(default=1, metadata={"help": "how many"})
    ratio: float = 0.5
    out: str = "o"
    progress: bool = True
    fonts: list[str] = field(default_factory=list)


def _cfg(tmp_path, text: bytes):
    p = tmp_path / "c.yaml"
    p.write_bytes(text)
    return ["--config", str(p)]


def test_non_utf8_config_names_the_line(tmp_path):
    argv = _cfg(tmp_path, b"count: 2\n" + "out: 輸出".encode("big5") + b"\n")
    with pytest.raises(InputError, match=r"c\.yaml:2: not UTF-8"):
        parse_config(Opts, argv)


@pytest.mark.parametrize("text, key, why", [
    (b"count: true\n", "count", "got bool"),
    (b"ratio: [1, 2]\n", "ratio", "got list"),
    (b"out: {a: 1}\n", "out", "got dict"),
])
def test_yaml_values_of_the_wrong_kind_are_errors(tmp_path, text, key, why):
    with pytest.raises(InputError, match=rf"bad value .* for '{key}': .*{why}"):
        parse_config(Opts, _cfg(tmp_path, text))


def test_a_config_that_is_not_a_mapping(tmp_path):
    with pytest.raises(InputError, match="expected a mapping"):
        parse_config(Opts, _cfg(tmp_path, b"- a\n- b\n"))


def test_non_string_key_is_an_unknown_option(tmp_path):
    with pytest.raises(InputError, match="unknown option"):
        parse_config(Opts, _cfg(tmp_path, b"1: 2\n"))


def test_config_given_as_folder_or_missing(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        parse_config(Opts, ["--config", str(tmp_path)])
    with pytest.raises(InputError, match="cannot read"):
        parse_config(Opts, ["--config", str(tmp_path / "none.yaml")])


def test_no_flag_for_booleans():
    assert parse_config(Opts, ["--no-progress"]).progress is False
    assert parse_config(Opts, ["--progress", "false"]).progress is False
    assert parse_config(Opts, []).progress is True


def test_bad_flag_gives_a_short_error_not_the_usage(capsys):
    with pytest.raises(SystemExit) as e:
        parse_config(Opts, ["--count", "abc"], prog="subtitle-vlm demo")
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "argument --count: invalid int value: 'abc'" in err
    assert "usage:" not in err and "(see subtitle-vlm demo --help)" in err
