"""Rule tests: expected verdicts kept beside the access lists, run by ``zoning rules test``.

A rule-test file is YAML named ``*.tests.yaml`` (so it is never loaded as a
list), usually next to the list it exercises::

    tests:
      - name: new organic-chemicals plant in the Baiyangdian unit is prohibited
        as_of: 2024-07-01              # optional: the date whose lists apply
        project:
          lon: 115.97                  # or site: WKT / a site file, with crs: if not lon/lat
          lat: 38.93
          industry: C2614
          type: new
          emissions: {VOCs: 12.5}
          attributes: {in_park: false}
        expect:
          verdict: prohibited
          units: [ZH13063210001]       # optional: exactly these units
          cited: [unit-ZH13063210001/KJ-1]
          not_cited: [baoding-city/KJ-4]
          missing: []                  # optional: exactly these inputs missing

``cited`` may also map a clause to its status (``applies``, ``unknown``,
``manual_review``). Clause references are ``list-id/clause-id`` and must
exist in some loaded version of the list (so a test can say a clause added
in a later version is not cited before its date). Each test is checked with :meth:`Engine.check`, the
same call ``zoning check`` makes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from zoning.errors import DataError, ZoningError
from zoning.rules.findings import Finding
from zoning.rules.loading import rule_files
from zoning.rules.yamlfile import line_of, read_yaml

Status = Literal["applies", "unknown", "manual_review"]
Verdict = Literal["prohibited", "restricted", "undetermined", "permitted", "not_covered"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TestProject(_Strict):
    name: str | None = None
    lon: float | None = None
    lat: float | None = None
    site: str | None = None
    crs: str | None = None
    industry: str | None = None
    type: str | None = None
    emissions: dict[str, float | str] = {}
    attributes: dict[str, float | bool | str] = {}
    min_overlap: list[str] = []

    @model_validator(mode="after")
    def _located(self):
        if (self.site is None) == (self.lon is None or self.lat is None):
            raise ValueError("give lon and lat, or site")
        return self


class Expectation(_Strict):
    verdict: Verdict | None = None
    worst_case: Verdict | None = None
    units: list[str] | None = None
    cited: list[str] | dict[str, Status] = []
    not_cited: list[str] = []
    missing: list[str] | None = None
    #: per clause (list/clause), each obligation's amount by name (null: cannot be computed)
    obligations: dict[str, dict[str, float | None]] = {}
    encouraged: list[str] | None = None

    def references(self) -> list[str]:
        return [*self.cited, *self.not_cited, *self.obligations, *(self.encouraged or [])]


class RuleTest(_Strict):
    name: str = Field(min_length=1)
    as_of: dt.date | None = None
    project: TestProject
    expect: Expectation


class RuleTestFile(_Strict):
    tests: list[RuleTest] = Field(min_length=1)


@dataclass
class Outcome:
    """One test's result: passed, or the differences between expected and actual."""

    test: RuleTest
    path: str
    line: int | None
    differences: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return not self.differences and self.error is None

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


def load_tests(paths) -> list[tuple[RuleTest, str, int | None]]:
    """Every test in the ``*.tests.yaml`` files under ``paths``, with file and line."""
    out, findings = [], []
    for path in rule_files(paths, tests=True):
        try:
            data, lines = read_yaml(Path(path))
        except DataError as exc:
            raise DataError(f"rule tests: {exc}") from None
        try:
            parsed = RuleTestFile.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = err["loc"]
                where = ".".join(str(p) for p in loc) or "(file)"
                message = err["msg"].removeprefix("Value error, ")
                if err["type"] in ("model_type", "dict_type", "model_attributes_type"):
                    message = "expected a mapping (keys and values)" if loc else \
                        "a rule-test file is a mapping with 'tests:', a list of tests"
                elif err["type"] == "extra_forbidden":
                    message = "unknown field"
                findings.append(Finding("error", str(path), line_of(lines, loc), f"field {where}", message,
                                        "see README, Rule tests, for the format"))
            continue
        out += [(_beside(t, Path(path)), str(path), line_of(lines, ("tests", i))) for i, t in enumerate(parsed.tests)]
    if findings:  # usually few: show them all
        raise DataError("rule tests: " + "; ".join(map(str, findings)))
    return out


def _beside(test: RuleTest, path: Path) -> RuleTest:
    """A site file named relative to the tests file is found there, wherever the command runs."""
    site = test.project.site
    if site and not Path(site).is_absolute() and (path.parent / site).is_file():
        project = test.project.model_copy(update={"site": str(path.parent / site)})
        return test.model_copy(update={"project": project})
    return test


def run_tests(tests, engine_for) -> list[Outcome]:
    """Run ``(test, path, line)`` items; ``engine_for(as_of)`` gives the engine for a date."""
    outcomes = []
    for test, path, line in tests:
        outcome = Outcome(test, path, line)
        try:
            engine = engine_for(test.as_of)
        except ZoningError as exc:  # e.g. no list in force on the test's date
            outcome.error = f"as_of {test.as_of}: {exc}"
            outcomes.append(outcome)
            continue
        known = {f"{lst.id}/{c.id}" for lst in engine.all_lists for c in lst.clauses} | set(
            engine.rules.clauses["list"] + "/" + engine.rules.clauses["clause"])  # with the unit layer's text
        unknown = [ref for ref in test.expect.references() if ref not in known]
        if unknown:
            outcome.error = f"no clause {', '.join(unknown)} in any loaded list (write list-id/clause-id)"
            outcomes.append(outcome)
            continue
        p = test.project
        try:
            result = engine.check(lon=p.lon, lat=p.lat, site=p.site, crs=p.crs, industry=p.industry, type=p.type,
                                  emissions=p.emissions, attributes=p.attributes, name=p.name,
                                  min_overlap=p.min_overlap or None)
        except ZoningError as exc:
            outcome.error = f"the project could not be checked: {exc}"
            outcomes.append(outcome)
            continue
        outcome.differences = compare(test.expect, result)
        outcomes.append(outcome)
    return outcomes


def compare(expect: Expectation, result) -> list[str]:
    """Readable differences between an expectation and a :class:`~zoning.verdicts.Result`."""
    diff = []
    cited: dict[str, set[str]] = {}
    for c in result.citations:
        cited.setdefault(f"{c['list']}/{c['clause']}", set()).add(c["status"])
    for name in ("verdict", "worst_case"):
        want = getattr(expect, name)
        got = getattr(result, name)
        if want is not None and want != got:
            diff.append(f"{name}: expected {want}, got {got}")
    if expect.units is not None:
        got = sorted(u["code"] for u in result.units)
        if sorted(expect.units) != got:
            diff.append(f"units: expected {', '.join(sorted(expect.units)) or '(none)'}, "
                        f"got {', '.join(got) or '(none)'}")
    statuses = expect.cited if isinstance(expect.cited, dict) else dict.fromkeys(expect.cited)
    for ref, status in statuses.items():
        if ref not in cited:
            diff.append(f"not cited: {ref} (expected {'to be cited' if status is None else status})")
        elif status is not None and status not in cited[ref]:
            diff.append(f"cited as {'/'.join(sorted(cited[ref]))}: {ref} (expected {status})")
    for ref in expect.not_cited:
        if ref in cited:
            diff.append(f"cited but should not be: {ref} ({'/'.join(sorted(cited[ref]))})")
    if expect.missing is not None and sorted(expect.missing) != sorted(result.missing):
        diff.append(f"missing inputs: expected {', '.join(sorted(expect.missing)) or '(none)'}, "
                    f"got {', '.join(result.missing) or '(none)'}")
    diff += _obligation_differences(expect, result)
    if expect.encouraged is not None and sorted(expect.encouraged) != sorted(result.encouraged):
        diff.append(f"encouraged: expected {', '.join(sorted(expect.encouraged)) or '(none)'}, "
                    f"got {', '.join(result.encouraged) or '(none)'}")
    if diff:  # context for the reader: what did decide it
        decide = _deciding(result)
        deciding = sorted(f"{ref} ({'/'.join(sorted(s))})" for ref, s in cited.items() if ref in decide)
        diff.append("prohibit/restrict clauses cited: " + (", ".join(deciding) or "(none)"))
    return diff


def _obligation_differences(expect: Expectation, result) -> list[str]:
    """Obligations expected (by clause and name, with their amounts) that the result lacks or computes
    otherwise (within a millionth)."""
    got = {(f"{o['list']}/{o['clause']}", o["name"]): o["amount"] for o in result.obligations}
    diff = []
    for ref, amounts in expect.obligations.items():
        for name, want in amounts.items():
            if (ref, name) not in got:
                diff.append(f"no obligation {name!r} from {ref}")
                continue
            have = got[(ref, name)]
            if (want is None) != (have is None) or (want is not None and abs(want - have) > 1e-6 * max(1, abs(want))):
                diff.append(f"obligation {name!r} from {ref}: expected {want}, got {have}")
    return diff


def _deciding(result) -> set[str]:
    return {f"{c['list']}/{c['clause']}" for c in result.citations
            if c["effect"] in ("prohibit", "restrict") and c["status"] != "manual_review"}
