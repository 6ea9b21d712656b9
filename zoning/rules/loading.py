"""Finding rule files and loading them: each file one validated access list.

:func:`load_lists` is what the engine uses; :func:`parse_list` returns every
problem of one file instead of raising, for ``zoning rules validate``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from zoning.errors import DataError
from zoning.rules.findings import FileError, Finding, raise_errors
from zoning.rules.hints import schema_findings
from zoning.rules.schema import AccessList
from zoning.rules.versions import version_findings
from zoning.rules.yamlfile import read_yaml

#: rule tests (see :mod:`zoning.ruletests`) live beside the lists, named ``*.tests.yaml``
TEST_SUFFIXES = (".tests.yaml", ".tests.yml")


def rule_files(paths, *, tests: bool = False) -> list[Path]:
    """Expand files and directories (recursively, ``*.yaml``/``*.yml``): the access
    lists, or with ``tests=True`` the rule tests (``*.tests.yaml``)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.suffix.lower() in (".yaml", ".yml")
                              and q.name.lower().endswith(TEST_SUFFIXES) == tests))
        elif p.exists():
            if p.name.lower().endswith(TEST_SUFFIXES) == tests:
                out.append(p)
        else:
            raise DataError(f"{p}: no such rule file or directory")
    return out


def load_lists(paths) -> list[AccessList]:
    """Load every list under ``paths``. A list id may appear in several files only
    as different versions whose effective periods do not overlap."""
    lists = [load_list(p) for p in rule_files(paths)]
    if not lists:
        raise DataError(f"no access lists (*.yaml) found in {', '.join(map(str, paths))}")
    raise_errors(version_findings(lists))
    return lists



def load_list(path: str | Path) -> AccessList:
    """Load and validate one YAML access list; errors raise :class:`DataError` with ``file:line``."""
    lst, findings = parse_list(Path(path))
    raise_errors(findings, more_hint=f"; run 'zoning rules validate {path}' to see them all")
    assert lst is not None  # a list that does not validate has error findings, raised above
    return lst


def parse_list(path: Path) -> tuple[AccessList | None, list[Finding]]:
    """One list file: the list (None if it does not validate) and every problem found."""
    try:
        data, lines = read_yaml(path)
    except FileError as exc:
        return None, [exc.finding]
    if not isinstance(data, dict):
        return None, [Finding("error", str(path), 1, "", "an access list must be a YAML mapping",
                              "start the file with 'id:', 'title:'… (see README, Rule-file reference)")]
    context: dict = {}
    try:
        lst = AccessList.model_validate({**data, "path": str(path)}, context=context)
    except ValidationError as exc:
        return None, schema_findings(path, data, lines, exc, context.get("problems", []))
    except TypeError as exc:  # keys that are not strings
        return None, [Finding("error", str(path), 1, "", f"unreadable keys: {exc}", "keys must be plain names")]
    lst._lines = lines
    return lst, []

