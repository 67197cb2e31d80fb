"""Imports flow one way through the pipeline's stages (docs/layout.md): a stage may import the shared core
and any stage before it, never one after it. Every ``import`` of the package is read from the source (ast),
including those inside functions, so a lazy import cannot hide a cycle."""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "subtitle_vlm"

# Lowest first. Shared core: modules every stage may use. engines sit below predict: the predict loop drives
# engines; an engine never reaches back into the loop. Entry points (cli and the upstream scripts' body)
# wire the stages together and are imported by none of them.
ORDER = [
    {"__init__", "io", "config", "crop"},
    {"text"},
    {"synth"},
    {"data"},
    {"train"},
    {"merge"},
    {"engines"},
    {"predict"},
    {"video"},
    {"score"},
    {"report"},
    {"cli", "__main__", "upstream_cli"},
]
RANK = {unit: i for i, units in enumerate(ORDER) for unit in units}

# Upward imports that are known and kept, each with its reason. Keep this list short: each entry is a rule
# living in a room above its user.
ALLOWED: set[tuple[str, str]] = set()


def unit_of(module: str) -> str:
    """subtitle_vlm.engines.ppocr.rules -> engines; subtitle_vlm.crop -> crop; subtitle_vlm -> __init__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def package_imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import of the package in ``path``; relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path).split(".")
    is_pkg = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_pkg else here[:-1]
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from subtitle_vlm import synth` imports the stage synth, not the package root.
            if target == "subtitle_vlm":
                for a in node.names:
                    is_module = (PACKAGE / a.name).is_dir() or (PACKAGE / f"{a.name}.py").is_file()
                    found.append((node.lineno, f"subtitle_vlm.{a.name}" if is_module else target))
            else:
                found.append((node.lineno, target))
    return [(line, mod) for line, mod in found if mod == "subtitle_vlm" or mod.startswith("subtitle_vlm.")]


def upward_imports() -> list[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = module_name(path)
        mine = unit_of(me)
        for line, target in package_imports(path):
            theirs = unit_of(target)
            if theirs not in RANK:
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}, a stage this test does not "
                           "know: add it to ORDER in tests/core/test_import_direction.py and docs/layout.md")
            elif RANK[theirs] > RANK[mine] and (me, target) not in ALLOWED:
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({mine}) imports {target} ({theirs}), a later "
                           "stage: move what both need into the lower one")
    return bad


def test_every_module_belongs_to_a_known_stage():
    units = {unit_of(module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert units <= set(RANK), f"stages missing from ORDER: {sorted(units - set(RANK))}"


def test_no_stage_imports_a_later_one():
    bad = upward_imports()
    assert not bad, "imports against the pipeline's direction:\n" + "\n".join(bad)


def test_allowed_exceptions_are_still_needed():
    # An exception that no longer happens is removed, so the list only ever names real upward imports.
    seen = {(module_name(p), t) for p in PACKAGE.rglob("*.py") for _, t in package_imports(p)}
    assert ALLOWED <= seen, f"no longer imported, drop from ALLOWED: {sorted(ALLOWED - seen)}"


@pytest.mark.parametrize("source,expect", [
    ("from subtitle_vlm.predict.runner import run_predict", "predict"),
    ("def f():\n    import subtitle_vlm.video.run\n", "video"),
    ("from .. import predict", "predict"),
    ("from ...predict import runner", "predict"),
])
def test_the_checker_sees_lazy_and_relative_imports(tmp_path, monkeypatch, source, expect):
    """A stand-in engines module that imports upward is reported, however the import is written."""
    pkg = tmp_path / "subtitle_vlm"
    (pkg / "engines" / "sub").mkdir(parents=True)
    (pkg / "predict").mkdir()
    (pkg / "video").mkdir()
    target = pkg / "engines" / ("sub/x.py" if source.startswith("from ...") else "x.py")
    target.write_text(source + "\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", pkg)
    bad = upward_imports()
    assert len(bad) == 1 and f"({expect})" in bad[0] and "(engines)" in bad[0], bad
