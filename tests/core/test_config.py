import json
from dataclasses import dataclass, field
from typing import Literal

import pytest

from subtitle_vlm.config import parse_config, save_config
from subtitle_vlm.io import InputError


@dataclass
class Demo:
    count: int = field(default=10, metadata={"help": "how many"})
    ratio: float = 0.5
    name: str = "x"
    fast: bool = False
    mode: Literal["a", "b"] = "a"
    fonts: list[str] = field(default_factory=list)
    limit: int | None = None


def test_defaults_file_then_flags(tmp_path):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("count: 3\nratio: 0.25\nfonts: [a.ttf, b.otf]\n")
    cfg = parse_config(Demo, ["--config", str(cfg_file), "--count", "7", "--fast", "--mode", "b"])
    assert (cfg.count, cfg.ratio, cfg.fast, cfg.mode, cfg.fonts) == (7, 0.25, True, "b", ["a.ttf", "b.otf"])
    assert parse_config(Demo, ["--fast", "false"]).fast is False
    assert parse_config(Demo, ["--limit", "4"]).limit == 4


def test_unknown_key_in_file_is_an_error(tmp_path):
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"count": 1, "cuont": 2}))
    with pytest.raises(InputError, match="unknown option.*cuont"):
        parse_config(Demo, ["--config", str(f)])


def test_bad_value_in_file_names_key(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("count: many\n")
    with pytest.raises(InputError, match="'count'"):
        parse_config(Demo, ["--config", str(f)])
    f.write_text("mode: c\n")
    with pytest.raises(InputError, match="choose one of a, b"):
        parse_config(Demo, ["--config", str(f)])


def test_unknown_flag_exits(capsys):
    with pytest.raises(SystemExit):
        parse_config(Demo, ["--nope", "1"])


def test_save_config_roundtrip(tmp_path):
    cfg = parse_config(Demo, ["--count", "5"])
    save_config(cfg, tmp_path / "resolved.yaml")
    again = parse_config(Demo, ["--config", str(tmp_path / "resolved.yaml")])
    assert again == cfg


def test_is_given_tells_an_explicit_default_from_an_untouched_one(tmp_path):
    from subtitle_vlm.config import is_given

    cfg = parse_config(Demo, ["--count", "10"])  # equal to the default, but the user chose it
    assert is_given(cfg, "count") and not is_given(cfg, "ratio") and not is_given(cfg, "limit")
    f = tmp_path / "c.yaml"
    f.write_text("ratio: 0.5\n")
    assert is_given(parse_config(Demo, ["--config", str(f)]), "ratio")
    # Built in code there is no record: a value other than the default counts as given.
    assert is_given(Demo(count=3), "count") and not is_given(Demo(count=10), "count")
    assert is_given(Demo(limit=0), "limit") and not is_given(Demo(), "limit")


def test_coerce_options_uses_the_config_file_rules():
    from subtitle_vlm.config import coerce_options

    mine, rest = coerce_options(Demo, {"count": "3", "fast": "on", "mode": "b", "fonts": "a.ttf", "other-key": 1})
    assert mine == {"count": 3, "fast": True, "mode": "b", "fonts": ["a.ttf"]} and rest == {"other-key": 1}
    # The same true/false words as a config file or a flag: y/n and on/off as well as true/false, yes/no, 1/0.
    for word, value in [("y", True), ("off", False), ("No", False), ("1", True)]:
        assert coerce_options(Demo, {"fast": word})[0] == {"fast": value}
    assert coerce_options(Demo, {"limit": None})[0] == {"limit": None}
    for bad, msg in [({"count": 1.5}, "'count'.*integer"), ({"count": True}, "'count'.*number"),
                     ({"fast": "maybe"}, "'fast'.*true/false"), ({"mode": "c"}, "'mode'.*choose one of a, b"),
                     ({"ratio": [1]}, "'ratio'")]:
        with pytest.raises(InputError, match=msg) as e:
            coerce_options(Demo, bad, "--engine-options")
        assert str(e.value).startswith("--engine-options: bad value")
