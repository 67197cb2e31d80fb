"""One way to configure every stage: typed dataclasses, a YAML/JSON file of defaults, CLI flags on top.

    @dataclass
    class SynthConfig:
        count: int = field(default=100, metadata={"help": "frames to make"})

    cfg = parse_config(SynthConfig, argv)     # --config synth.yaml --count 10

Field names map to flags (``max_len`` -> ``--max-len`` and ``--max_len``). Keys in the file that no field
declares are errors, and so are unknown flags. ``save_config`` writes the resolved values beside an output.
The trainer uses ``transformers.HfArgumentParser`` with the same rules (see ``train.train_config``).

``is_given(cfg, name)`` says whether the user set an option (flag or file) rather than leaving its default,
so a later stage can let a saved run config fill what the user did not choose. ``coerce_options`` converts a
free-form mapping (``--engine-options``) to a dataclass's field types with the same rules as a config file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal, Sequence, TypeVar

from subtitle_vlm.io import InputError, atomic_write_text, read_bytes, utf8_error

T = TypeVar("T")


def load_config_file(path: str | Path) -> dict:
    """Read a YAML or JSON mapping; the message names the file when it is not one."""
    path = Path(path)
    raw = read_bytes(path, "config file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise utf8_error(path, raw, e) from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as e:  # yaml and json raise different types; both mean the same to the user
        raise InputError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a mapping of option: value at the top level")
    return data


def _unwrap_optional(tp):
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _str2bool(v: str) -> bool:
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "y", "on"):
        return True
    if s in ("0", "false", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {v!r}")


def _coerce(name: str, tp, value, source: str):
    """Convert a config-file value to the field's type, with an error naming the key."""
    tp, optional = _unwrap_optional(tp)
    if value is None:
        if optional:
            return None
        raise InputError(f"{source}: '{name}' may not be null")
    origin = typing.get_origin(tp)
    try:
        if origin is Literal:
            if value not in typing.get_args(tp):
                raise ValueError(f"choose one of {', '.join(map(str, typing.get_args(tp)))}")
            return value
        if origin in (list, tuple):
            (item_tp, *_) = typing.get_args(tp) or (str,)
            seq = value if isinstance(value, (list, tuple)) else [value]
            return [_coerce(name, item_tp, v, source) for v in seq]
        if origin is dict or tp is dict:
            if not isinstance(value, dict):
                raise ValueError("expected a mapping")
            return value
        if tp is bool:
            return value if isinstance(value, bool) else _str2bool(value)
        if tp in (int, float, str):
            # YAML gives bools, lists and mappings as themselves: int(True) or str({...}) would hide a typo.
            if isinstance(value, (bool, list, tuple, dict)):
                raise ValueError(f"expected {'a number' if tp in (int, float) else 'a single value'}, "
                                 f"got {type(value).__name__}")
            if tp is int and isinstance(value, float) and not value.is_integer():
                raise ValueError("expected an integer")
            return tp(value)
    except (ValueError, TypeError, argparse.ArgumentTypeError) as e:
        raise InputError(f"{source}: bad value {value!r} for '{name}': {e}") from None
    return value


def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def coerce_options(cls, options: dict, source: str = "options") -> tuple[dict, dict]:
    """Split ``options`` into (values for ``cls``'s fields, converted like config-file values; the rest).

    Keys may use dashes for underscores. Bad values raise InputError naming ``source`` and the key.
    """
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    mine, rest = {}, {}
    for key, value in options.items():
        name = str(key).replace("-", "_")
        if name in names:
            mine[name] = _coerce(name, hints[name], value, source)
        else:
            rest[key] = value
    return mine, rest


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls) -> None:
    """Add one flag per field; defaults are SUPPRESSed so we can tell what the user set."""
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if not f.init or f.metadata.get("cli") is False:
            continue
        tp, _ = _unwrap_optional(hints[f.name])
        flags = [f"--{f.name.replace('_', '-')}"]
        if "_" in f.name:
            flags.append(f"--{f.name}")
        kw: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS, "help": f.metadata.get("help", "")}
        origin = typing.get_origin(tp)
        if f.default is not dataclasses.MISSING:
            kw["help"] += f" (default: {f.default!r})"
        if origin is Literal:
            kw["choices"] = list(typing.get_args(tp))
            kw["type"] = type(kw["choices"][0])
        elif origin in (list, tuple):
            item = (typing.get_args(tp) or (str,))[0]
            kw["nargs"] = "*"
            kw["type"] = item if item in (int, float, str) else str
        elif tp is bool:
            kw["nargs"] = "?"
            kw["const"] = True
            kw["type"] = _str2bool
            kw["metavar"] = "BOOL"
            if not f.metadata.get("positional"):
                parser.add_argument(f"--no-{f.name.replace('_', '-')}", dest=f.name, action="store_const",
                                    const=False, default=argparse.SUPPRESS, help=f"same as --{flags[0][2:]} false")
        elif tp in (int, float, str):
            kw["type"] = tp
        elif tp is dict or origin is dict:
            kw["type"] = json.loads
        if f.metadata.get("positional"):
            parser.add_argument(f.name, nargs="?", default=argparse.SUPPRESS, help=kw["help"], type=kw.get("type"))
            continue
        parser.add_argument(*flags, **kw)


def build_config(cls: type[T], cli_values: dict, config_file: str | Path | None = None) -> T:
    """Defaults <- config file <- CLI values; unknown file keys are errors."""
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    hints = _hints(cls)
    values: dict[str, Any] = {}
    if config_file:
        data = load_config_file(config_file)
        data = {str(k).replace("-", "_"): v for k, v in data.items()}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InputError(f"{config_file}: unknown option(s) {', '.join(unknown)}; "
                             f"valid ones are: {', '.join(sorted(names))}")
        for k, v in data.items():
            values[k] = _coerce(k, hints[k], v, str(config_file))
    values.update({k: v for k, v in cli_values.items() if k in names})
    missing = [f.name for f in dataclasses.fields(cls)
               if f.init and f.name not in values
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise InputError(f"missing required option(s): {', '.join('--' + m.replace('_', '-') for m in missing)}")
    cfg = cls(**values)
    # Remember what the user chose (file or flags), so a default can be told from an explicit equal value.
    object.__setattr__(cfg, _GIVEN_ATTR, frozenset(values))
    post = getattr(cfg, "validate", None)
    if callable(post):
        post()
    return cfg


_GIVEN_ATTR = "_given_options"


def is_given(cfg, name: str) -> bool:
    """Whether the user set option ``name`` of ``cfg``.

    For a config built by ``build_config`` (flags, ``--config`` file) this is exact. A dataclass built in
    code (tests, the video command's engine config) has no such record: there a value other than the
    field's default counts as given.
    """
    given = getattr(cfg, _GIVEN_ATTR, None)
    if given is not None:
        return name in given
    value = getattr(cfg, name, None)
    fields = {f.name: f for f in dataclasses.fields(cfg)} if dataclasses.is_dataclass(cfg) else {}
    f = fields.get(name)
    if f is None or f.default is dataclasses.MISSING:
        return value is not None
    return value != f.default


class ArgumentParser(argparse.ArgumentParser):
    """argparse with a short error: the message and a pointer to --help, not a screen of usage."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n(see {self.prog} --help)\n")


def make_parser(prog: str | None = None, description: str | None = None, cls=None) -> ArgumentParser:
    """A parser with ``--config`` and, when ``cls`` is given, one flag per field of that dataclass.
    The description keeps its line breaks (module docstrings that start with the command)."""
    parser = ArgumentParser(prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML or JSON file of defaults; flags given here win")
    if cls is not None:
        add_dataclass_arguments(parser, cls)
    return parser


def parse_config(cls: type[T], argv: Sequence[str] | None = None, prog: str | None = None,
                 description: str | None = None) -> T:
    """Parse ``argv`` into a ``cls`` (defaults <- ``--config`` file <- flags), validated."""
    ns = vars(make_parser(prog, description, cls).parse_args(argv))
    cfg_file = ns.pop("config", None)
    return build_config(cls, ns, cfg_file)


def config_to_dict(cfg) -> dict:
    def conv(v):
        if isinstance(v, Path):
            return str(v)
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v

    return {k: conv(v) for k, v in dataclasses.asdict(cfg).items()}


def save_config(cfg, path: str | Path) -> None:
    """Write the resolved config (YAML when the name says so, else JSON) atomically."""
    path = Path(path)
    data = config_to_dict(cfg) if dataclasses.is_dataclass(cfg) else cfg
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        atomic_write_text(path, yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    else:
        atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
