"""Finding rule files and loading them: each file one validated access list.

A rule set's directory holds its lists (``*.yaml``) and, beside them, rule
tests (``*.tests.yaml``) and declarations of the project attributes its
clauses use beyond the built-in ones (``*.attributes.yaml``, see
:mod:`zoning.vocabulary`). :func:`load_vocabulary` and :func:`load_lists` are
what the engine uses; :func:`parse_list` returns every problem of one file
instead of raising, for ``zoning rules validate``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from zoning.errors import DataError
from zoning.rules.findings import FileError, Finding, raise_errors
from zoning.rules.hints import schema_findings
from zoning.rules.parameters import load_parameters
from zoning.rules.schema import AccessList
from zoning.rules.versions import version_findings
from zoning.rules.yamlfile import read_model, read_yaml
from zoning.vocabulary import Declarations, Vocabulary, builtin

#: files beside the lists that are not lists, by kind: rule tests (see :mod:`zoning.authoring.ruletests`)
#: and attribute declarations (see :mod:`zoning.vocabulary`)
SUFFIXES = {"tests": (".tests.yaml", ".tests.yml"), "attributes": (".attributes.yaml", ".attributes.yml"),
            "parameters": (".parameters.yaml", ".parameters.yml")}
TEST_SUFFIXES = SUFFIXES["tests"]


def file_kind(path: Path) -> str:
    """What a rule-set file holds, by its name: ``lists``, ``tests``, ``attributes`` or ``parameters``."""
    name = path.name.lower()
    return next((kind for kind, suffixes in SUFFIXES.items() if name.endswith(suffixes)), "lists")


def rule_files(paths: Iterable[str | Path], *, tests: bool = False, kind: str | None = None) -> list[Path]:
    """Expand files and directories (recursively, ``*.yaml``/``*.yml``) to the files of one kind: the
    access lists (default), the rule tests (``tests=True`` or ``kind="tests"``) or the attribute
    declarations (``kind="attributes"``)."""
    wanted = kind or ("tests" if tests else "lists")
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.suffix.lower() in (".yaml", ".yml")
                              and file_kind(q) == wanted))
        elif p.exists():
            if file_kind(p) == wanted:
                out.append(p)
        else:
            raise DataError(f"{p}: no such rule file or directory")
    return out


def load_vocabulary(paths: Iterable[str | Path]) -> Vocabulary:
    """The built-in attributes and those the ``*.attributes.yaml`` files under ``paths`` declare."""
    vocabulary = builtin()
    for path in rule_files(paths, kind="attributes"):
        declarations, _ = read_model(path, Declarations, "Declaring attributes")
        vocabulary = vocabulary.extended(declarations, str(path))
    return vocabulary


def load_lists(paths: Iterable[str | Path], vocabulary: Vocabulary | None = None,
               parameters: Iterable[str] | None = None) -> list[AccessList]:
    """Load every list under ``paths``, validated against ``vocabulary`` (default: the one the rule set
    declares, :func:`load_vocabulary`) and the names of its ``parameters`` (default: those declared under
    ``paths``). A list id may appear in several files only as different versions whose effective periods do
    not overlap."""
    paths = list(paths)
    vocabulary = vocabulary or load_vocabulary(paths)
    declared = set(parameters) if parameters is not None else {p.name for p in load_parameters(
        rule_files(paths, kind="parameters"))}
    collecting = gc.isenabled()
    gc.disable()  # reading makes many objects and frees few: collections took half the time (0.5 s of 1 s)
    try:
        lists = [load_list(p, vocabulary, declared) for p in rule_files(paths)]
    finally:
        if collecting:
            gc.enable()
    if not lists:
        raise DataError(f"no access lists (*.yaml) found in {', '.join(map(str, paths))}")
    raise_errors(version_findings(lists))
    return lists



def load_list(path: str | Path, vocabulary: Vocabulary | None = None,
              parameters: Iterable[str] | None = None) -> AccessList:
    """Load and validate one YAML access list; errors raise :class:`DataError` with ``file:line``."""
    lst, findings = parse_list(Path(path), vocabulary, parameters)
    raise_errors(findings, more_hint=f"; run 'zoning rules validate {path}' to see them all")
    assert lst is not None  # a list that does not validate has error findings, raised above
    return lst


def parse_list(path: Path, vocabulary: Vocabulary | None = None,
               parameters: Iterable[str] | None = None) -> tuple[AccessList | None, list[Finding]]:
    """One list file: the list (None if it does not validate) and every problem found; its attributes are
    checked against ``vocabulary`` (default: the built-in one) and its ``$parameters`` against the names
    declared (None: not checked)."""
    try:
        data, lines = read_yaml(path)
    except FileError as exc:
        return None, [exc.finding]
    if not isinstance(data, dict):
        return None, [Finding("error", str(path), 1, "", "an access list must be a YAML mapping",
                              "start the file with 'id:', 'title:'… (see README, Rule-file reference)")]
    context: dict = {"vocabulary": vocabulary or builtin(),
                     "parameters": None if parameters is None else set(parameters)}
    try:
        lst = AccessList.model_validate({**data, "path": str(path)}, context=context)
    except ValidationError as exc:
        return None, schema_findings(path, data, lines, exc, context.get("problems", []))
    except TypeError as exc:  # keys that are not strings
        return None, [Finding("error", str(path), 1, "", f"unreadable keys: {exc}", "keys must be plain names")]
    lst._lines = lines
    return lst, []

