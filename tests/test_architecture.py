"""The package's layout, checked: imports only go down the layers, and modules stay small.

Layers, top to bottom (README, "Layout"): the command line; the API (engine,
screening, the rule authoring tools, siting guidance); outputs; evaluation; the rule model and
inputs, side by side; base modules. A module may import from its own layer
or any below it, never from above; the rule model and inputs do not import
each other. Imports made only for annotations (under ``if TYPE_CHECKING:``)
are not dependencies and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import zoning

PACKAGE = Path(zoning.__file__).resolve().parent
BASE, RULES, INPUTS, EVALUATE, OUTPUTS, API, CLI = "base", "rules", "inputs", "evaluate", "outputs", "api", "cli"
RANK = {BASE: 0, RULES: 1, INPUTS: 1, EVALUATE: 2, OUTPUTS: 3, API: 4, CLI: 5}
#: the largest a module may grow before it should be split
MAX_LINES = 450


def layer(module: str) -> str:
    """The layer of a module of the package, by its dotted name."""
    parts = module.split(".")
    if module in ("zoning", "zoning.engine", "zoning.engine_cache", "zoning.screening", "zoning.chunks") \
            or parts[:2] in (["zoning", "authoring"], ["zoning", "siting"], ["zoning", "db"], ["zoning", "cluster"]):
        return API
    if parts[:2] in (["zoning", "cli"], ["zoning", "service"]) or module == "zoning.__main__":
        return CLI
    return {"rules": RULES, "inputs": INPUTS, "evaluate": EVALUATE, "outputs": OUTPUTS}.get(parts[1], BASE)


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    return (PACKAGE.parent / relative).with_suffix(".py").exists() \
        or (PACKAGE.parent / relative / "__init__.py").exists()


def imports(source: str, module: str, is_package: bool) -> list[tuple[str, int]]:
    """(imported module of the package, line) for every runtime import in ``source``."""
    tree = ast.parse(source)
    typing_only = {id(node) for stmt in ast.walk(tree) if isinstance(stmt, ast.If) and _type_checking(stmt.test)
                   for part in stmt.body for node in ast.walk(part)}
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names if alias.name.split(".")[0] == "zoning"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] != "zoning":
                continue
            for alias in node.names:  # "from zoning import sample" imports the module zoning.sample
                target = f"{base}.{alias.name}"
                found.append((target if is_module(target) else base, node.lineno))
    return found


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """Imports in ``source`` (the text of ``module``) that go up a layer, across from rules to inputs,
    or to the package's public face (which imports every layer: a cycle waiting to happen)."""
    here = layer(module)
    out = []
    for target, line in imports(source, module, is_package):
        there = layer(target)
        if RANK[there] > RANK[here] or {here, there} == {RULES, INPUTS} or (target == "zoning" != module):
            out.append(f"{module}:{line} ({here}) imports {target} ({there})")
    return out


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "_sample" not in p.parts)


def test_every_module_has_a_layer_and_the_layers_are_the_documented_ones():
    names = {module_name(p) for p in modules()}
    assert {layer(n) for n in names} == set(RANK)
    assert layer("zoning.rules.conditions") == RULES and layer("zoning.inputs.registry") == INPUTS
    assert layer("zoning.authoring.validation") == API and layer("zoning.projects") == BASE
    assert layer("zoning.db.publish") == API


def test_no_module_imports_from_a_layer_above_it():
    found = []
    for path in modules():
        found += violations(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")
    assert found == []


@pytest.mark.parametrize(("module", "source", "expected"), [
    ("zoning.rules.conditions", "from zoning.evaluate.proximity import TOLERANCE_M\n", 1),  # up a layer
    ("zoning.inputs.sites", "from zoning.evaluate.overlay import measure\n", 1),
    ("zoning.evaluate.results", "import zoning.outputs.writers\n", 1),
    ("zoning.engine", "from zoning import __version__\n", 1),  # the public face, from inside: a cycle
    ("zoning.engine", "from zoning._version import __version__\n", 0),
    ("zoning.geodesy", "from zoning import Engine\n", 1),  # the package: the API layer
    ("zoning.rules.schema", "from zoning.inputs.units import UNIT_TYPES\n", 1),  # across, rules to inputs
    ("zoning.evaluate.summary", "from .compile import CompiledRules\nfrom ..rules import nodes\n", 0),
    ("zoning.evaluate.summary", "from ..outputs import writers\n", 1),  # relative, up
    ("zoning.outputs.reports", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from zoning.engine "
                               "import Engine\n", 0),  # annotations only
])
def test_the_import_check_finds_what_goes_up(module, source, expected):
    assert len(violations(source, module)) == expected


def test_no_module_is_over_the_size_limit():
    long = {module_name(p): n for p in modules() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}
