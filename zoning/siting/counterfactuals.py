"""What would change a check's result: counterfactual guidance (选址引导：改变结论的条件), never a verdict.

For a result that is prohibited, restricted or undetermined, :func:`guidance` takes
each *deciding* clause (a prohibit or restrict clause that applies, or is
undecided for want of an input) and proposes, from its conditions and their
truths in the audit trail (:mod:`zoning.siting.lifting`), the smallest input
changes that would lift it: a flag or category an exception needs
(``in_park = true``), a number's threshold (``VOCs ≤ 0 t/a``, ``boiler_capacity ≥ 35
t/h``, for an expression the threshold on one operand holding the others), a
different project type. Industry changes are never suggested (a project cannot
change its industry): they are named apart; conditions on where the site lies
belong to the place part.

Nothing is reported on the strength of the conditions alone: every change is
applied to the project and re-checked with the engine, in one batch
(:meth:`~zoning.engine.Engine.check_many`), and only changes after which the
clause no longer applies (nor stays undecided) are kept, each with the verdict
the whole project would then get. Then the smallest combination that lifts every
deciding clause, if there is one, is re-checked the same way. A clause that
nothing but its industry or its place can lift is *not liftable*: only another
place. For an undetermined result, each missing input's values are tried and
grouped by the verdict they give (``VOCs ≤ 10 t/a → permitted; VOCs > 10 t/a →
prohibited``). The place part is :func:`zoning.siting.places.nearest_places`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np

from zoning.evaluate.results import Result
from zoning.geodesy import GEOGRAPHIC
from zoning.projects import PROJECT_TYPES
from zoning.rules.conditions import Compare, ExprCompare, named_industries, walk
from zoning.siting.lifting import FIXED, Change, Context, Option, lifting_options, merge, node_truths, solve
from zoning.siting.outcomes import outcome_text, runs
from zoning.verdicts import Verdict
from zoning.vocabulary import Vocabulary

if TYPE_CHECKING:
    from zoning.engine import Engine

KIND = "guidance"
NOTE = ("Guidance, not a verdict: input changes that would lift the deciding clauses, each re-checked with the "
        "engine; the verdict is the check's. 选址与建设方案引导，不是结论。")
#: change sets tried per clause, and combinations re-checked
PER_CLAUSE = 5
COMBINED = 6
_BEAM = 64
_DECIDING = ("prohibit", "restrict")


@dataclass
class Project:
    """A project's inputs as a re-check takes them: site, industry code, type, attribute values (held as
    floats: numbers, flags 1/0, category indexes; only those given)."""

    geometry: Any
    industry: str | None
    type: str | None
    held: dict[str, float]

    @classmethod
    def of(cls, result: Result, vocabulary: Vocabulary) -> Project:
        p = result.project
        held = {}
        for name, value in (p.get("attributes") or {}).items():
            spec = vocabulary[name]
            held[name] = float(spec.choices.index(value)) if spec.category else float(value)
        industry = p.get("industry")
        return cls(result.geometry, industry["code"] if industry else None, p.get("type"), held)

    def row(self, vocabulary: Vocabulary, option: Option = ()) -> dict:
        """The project's inputs as a row of :meth:`Engine.check_many`, with ``option`` applied."""
        row: dict[str, Any] = {"industry": self.industry, "type": self.type}
        for name, value in self.held.items():
            spec = vocabulary[name]
            row[name] = bool(value) if spec.flag else spec.choices[int(value)] if spec.category else value
        for change in option:
            row[change.input] = change.test
        return row

    def kwargs(self, vocabulary: Vocabulary) -> dict:
        """The project as :meth:`Engine.check` keywords (industry, type, emissions, attributes)."""
        row = self.row(vocabulary)
        values = {k: v for k, v in row.items() if k not in ("industry", "type")}
        emissions = {k: v for k, v in values.items() if vocabulary[k].emission}
        return {"industry": row["industry"], "type": row["type"], "emissions": emissions,
                "attributes": {k: v for k, v in values.items() if k not in emissions}}


@dataclass
class _Clause:
    """One deciding clause of a result, with the change sets proposed for it."""

    list_id: str
    id: str
    effect: str
    status: str
    units: list[str]
    text: str
    options: list[Option] = field(default_factory=list)
    fixed: list[Option] = field(default_factory=list)  # options needing another industry or place

    @property
    def key(self) -> str:
        return f"{self.list_id}/{self.id}"


def check_with_guidance(engine: Engine, *, places: bool = True, explain: bool = False, **check_kwargs: Any) -> Result:
    """:meth:`Engine.check` with :attr:`Result.guidance` set (see :func:`guidance`); ``check_kwargs`` are
    check's keywords. The audit trail guidance reads is kept only with ``explain``."""
    if places:
        return engine.check(**check_kwargs, explain=explain, guidance=True)
    result = engine.check(**check_kwargs, explain=True)
    result.guidance = guidance(engine, result, places=False, min_overlap=check_kwargs.get("min_overlap"))
    if not explain:
        result.explanation = None
    return result


def guidance(engine: Engine, result: Result, *, places: bool = True, min_overlap: Any = None) -> dict:
    """What would change ``result`` (from ``engine.check``): per deciding clause the verified input changes
    that lift it and the verdict after each, the smallest verified combination lifting them all, the
    clauses only another place lifts, the values of missing inputs that decide an undetermined verdict,
    and (``places``) the nearest places where the project would be less restricted. A dict with
    ``"kind": "guidance"``: guidance, never a verdict. ``min_overlap`` is the check's, for the re-checks."""
    if result.explanation is None:
        project = Project.of(result, engine.vocabulary)
        result = engine.check(site=result.geometry, **project.kwargs(engine.vocabulary), min_overlap=min_overlap,
                              explain=True)
    case = Case(engine, result)
    run_batches(engine, [case], min_overlap)
    out = case.report()
    if places and case.active:
        out["places"] = place_part(engine, case.project.geometry, case.project.kwargs(engine.vocabulary))
    return out


def place_part(engine: Engine, site: Any, project: dict) -> dict:
    """The nearest places where the project would be permitted, or at most restricted (re-checked), or why
    there are none to give."""
    if not hasattr(engine, "where"):
        return {"available": False, "reason": "the map of where a project may go (Engine.where) is not available"}
    from zoning.siting.places import nearest_places

    return {"available": True, **nearest_places(engine, site, project)}


class Case:
    """One result's guidance in the making: its deciding clauses and proposals, the re-checks they need,
    and what the re-checks said."""

    def __init__(self, engine: Engine, result: Result, project: Project | None = None):
        self.engine, self.result, self.vocabulary = engine, result, engine.vocabulary
        self.project = project or Project.of(result, self.vocabulary)
        self.active = Verdict.of(result.verdict) in (Verdict.PROHIBITED, Verdict.RESTRICTED, Verdict.UNDETERMINED)
        self.clauses = self._deciding() if self.active else []
        self.probes: dict[str, list[tuple[Any, Any]]] = {}  # missing input -> [(value shown, value tested)]
        #: option -> (verdict, clauses cited after, worst case)
        self.rechecked: dict[tuple, tuple[str, frozenset[str], str]] = {}
        self.combined: list[Option] = []

    # -- proposals ----------------------------------------------------------------------------------
    def _deciding(self) -> list[_Clause]:
        rules = self.engine.rules
        frame = rules.clauses
        found: dict[tuple[str, str], _Clause] = {}
        params = {(c["unit"], c["list"], c["clause"]): {p["name"]: p["value"] for p in c.get("parameters", [])
                                                      if p["value"] is not None} for c in self.result.citations}
        for entry in self.result.explanation or []:
            if entry["effect"] not in _DECIDING or entry["review_only"] or entry["outcome"] not in (
                    "applies", "undecided"):
                continue
            key = (entry["list"], entry["clause"])
            rows = np.flatnonzero((frame["list"].to_numpy() == key[0]) & (frame["clause"].to_numpy() == key[1]))
            condition, unless = rules.conditions[int(rules.clause_cond[rows[0]])]
            clause = found.get(key)
            if clause is None:
                clause = found[key] = _Clause(key[0], key[1], entry["effect"], "undecided", [],
                                              str(frame["text"].iat[rows[0]]))
            if entry["outcome"] == "applies":
                clause.status = "applies"
            if entry["unit"] not in clause.units:
                clause.units.append(entry["unit"])
            ctx = Context(node_truths(condition, unless, entry), self.project.held,
                          params.get((entry["unit"], key[0], key[1]), {}), self.vocabulary)
            for option in lifting_options(condition, unless, ctx):
                target = clause.fixed if any(c.input in FIXED for c in option) else clause.options
                if option not in target:
                    target.append(option)
        for clause in found.values():  # the smallest, one per set of inputs changed before a second
            ranked = sorted(clause.options, key=len)
            firsts = list({frozenset(c.input for c in o): o for o in reversed(ranked)}.values())[::-1]
            clause.options = sorted(firsts + [o for o in ranked if o not in firsts], key=len)[:PER_CLAUSE]
        return sorted(found.values(), key=lambda c: (c.effect != "prohibit", c.status != "applies", c.key))

    def wanted(self) -> list[Option]:
        """The first batch: every clause's proposals, and each missing input's trial values."""
        if not self.active:
            return []
        if self.result.missing and (self.result.verdict == "undetermined"
                                    or self.result.worst_case != self.result.verdict):
            self.probes = {name: self._probes(name) for name in self.result.missing}
        trials = [o for c in self.clauses for o in c.options]
        trials += [_probe_option(name, tested) for name, probes in self.probes.items() for _, tested in probes]
        return trials

    def _probes(self, name: str) -> list[tuple[Any, Any]]:
        """Trial values for a missing input: both sides of every threshold the undecided clauses set on it."""
        if name == "type":
            return [(t, t) for t in PROJECT_TYPES]
        if name == "industry":
            codes = dict.fromkeys(code for c in self.clauses for cond in self._trees(c) for code in
                                  named_industries(cond))
            return [(code, code) for code in list(codes)[:10]]
        spec = self.vocabulary[name]
        if spec.flag:
            return [(False, False), (True, True)]
        if spec.category:
            return [(v, v) for v in spec.choices]
        points = {0.0}
        for clause in self.clauses:
            for tree in self._trees(clause):
                for node in walk(tree):
                    if isinstance(node, Compare) and node.attr == name:
                        points.update(t for _, t in node.tests if t >= 0)
                    elif isinstance(node, ExprCompare) and name in node.attributes():
                        ctx = Context({}, self.project.held, self._parameters(clause), self.vocabulary)
                        bound = solve(node.comparison, True, ctx, name)
                        if bound is not None:
                            points.add(float(bound.value))
        probes: list[tuple[Any, Any]] = []
        for b in sorted(points):
            step = max(abs(b) * 1e-6, 1e-6)
            probes += [(b, b), (b, b + step)] + ([(b, b - step)] if b - step >= 0 else [])
        return sorted(set(probes), key=lambda p: p[1])

    def _trees(self, clause: _Clause):
        rules = self.engine.rules
        frame = rules.clauses
        rows = np.flatnonzero((frame["list"].to_numpy() == clause.list_id) & (frame["clause"].to_numpy() == clause.id))
        return [t for t in rules.conditions[int(rules.clause_cond[rows[0]])] if t is not None]

    def _parameters(self, clause: _Clause) -> dict[str, float]:
        return {p["name"]: p["value"] for c in self.result.citations if (c["list"], c["clause"]) ==
                (clause.list_id, clause.id) for p in c.get("parameters", []) if p["value"] is not None}

    def combinations(self) -> list[Option]:
        """The second batch: the smallest combinations of verified changes lifting every deciding clause
        (none when a clause has no verified change)."""
        verified = [self.verified(c) for c in self.clauses]
        if not self.clauses or any(not v for v in verified):
            return []
        beam: list[Option] = [()]
        for options in verified:
            grown = {m for partial in beam for o, _ in options if (m := merge(partial + o)) is not None}
            beam = sorted(grown, key=lambda o: (len(o), _text(o, self.vocabulary)))[:_BEAM]
        self.combined = beam[:COMBINED]
        return self.combined

    def verified(self, clause: _Clause) -> list[tuple[Option, str]]:
        """The clause's proposals after which the re-check no longer cites it, with the verdict then."""
        out = []
        for option in clause.options:
            verdict, cited, _ = self.rechecked.get(_key(option), ("error", frozenset(), ""))
            if verdict != "error" and clause.key not in cited:
                out.append((option, verdict))
        return out

    # -- the report ---------------------------------------------------------------------------------
    def report(self) -> dict:
        """The guidance dict (see :func:`guidance`)."""
        out: dict[str, Any] = {"kind": KIND, "note": NOTE, "verdict": self.result.verdict}
        if not self.active:
            out["summary"] = {"permitted": "permitted: nothing to change",
                              "not_covered": "the site lies in no management unit: nothing to change but the place"
                              }.get(self.result.verdict, "nothing to change")
            out.update(clauses=[], combined=None, not_liftable=[], undetermined=[])
            return out
        clauses, not_liftable = [], []
        for clause in self.clauses:
            entry = self._clause_entry(clause)
            clauses.append(entry)
            if not entry["liftable"]:
                not_liftable.append(clause.key)
        out["clauses"] = clauses
        out["not_liftable"] = not_liftable
        out["combined"] = self._combined_entry(not_liftable)
        out["undetermined"] = self._undetermined()
        out["rechecks"] = len(self.rechecked)
        return out

    def _clause_entry(self, clause: _Clause) -> dict:
        verified = self.verified(clause)
        entry: dict[str, Any] = {
            "clause": clause.key, "list": clause.list_id, "id": clause.id, "effect": clause.effect,
            "status": clause.status, "units": clause.units, "text": clause.text, "liftable": bool(verified),
            "changes": [self._change_entry(o, v) for o, v in verified]}
        industry = [o for o in clause.fixed if all(c.input == "industry" for c in o)]
        if industry:  # named, never suggested: a project cannot change its industry
            entry["industry_only"] = [_text(o, self.vocabulary) for o in industry]
        entry["depends_on_location"] = any(c.input == "location" for o in clause.fixed for c in o)
        if not verified:
            entry["reason"] = (
                "no tried change of the project's inputs lifted it in the re-check" if clause.options else
                "only its place lifts it" if entry["depends_on_location"] else
                "only another industry lifts it (not a change a project can make)" if industry else
                "it has no exception a project can meet") + ": only another place"
        return entry

    def _change_entry(self, option: Option, verdict: str) -> dict:
        return {"inputs": [c.as_dict(self.vocabulary) for c in option], "text": _text(option, self.vocabulary),
                "verdict_after": verdict}

    def _combined_entry(self, not_liftable: list[str]) -> dict | None:
        if not_liftable:
            return {"found": False, "reason": f"{', '.join(not_liftable)} cannot be lifted by the project: "
                                              "only another place"}
        keys = {c.key for c in self.clauses}
        best = [(o, self.rechecked[_key(o)][0]) for o in self.combined
                if _key(o) in self.rechecked and self.rechecked[_key(o)][0] != "error"
                and not keys & self.rechecked[_key(o)][1]]
        if not best:
            return {"found": False, "reason": "no combination of the verified changes lifted every deciding clause"}
        best.sort(key=lambda b: (len(b[0]), int(Verdict.of(b[1]))))
        best = [b for i, b in enumerate(best) if not any(set(a[0]) <= set(b[0]) for a in best[:i])]
        return {"found": True, "clauses": sorted(keys), **self._change_entry(*best[0]),
                "alternatives": [self._change_entry(*b) for b in best[1:4]]}

    def _undetermined(self) -> list[dict]:
        out = []
        for name, probes in self.probes.items():
            after = [self.rechecked.get(_key(_probe_option(name, tested)), ("error", frozenset(), "error"))
                     for _, tested in probes]
            found = runs(name, probes, [(a[0], a[2]) for a in after], self.vocabulary)
            out.append({"input": name, "decides": len({(r["verdict_after"], r["worst_case_after"]) for r in found}) > 1,
                        "outcomes": found, "text": "; ".join(f"{r['when']} → {outcome_text(r)}" for r in found)})
        return out


def _probe_option(name: str, tested: Any) -> Option:
    return (Change(name, "=", tested, tested),)


def _text(option: Option, vocabulary: Vocabulary) -> str:
    return ", ".join(c.text(vocabulary) for c in option)


def _key(option: Option) -> tuple:
    return tuple((c.input, c.test if not isinstance(c.test, float) else round(c.test, 12)) for c in option)


def run_batches(engine: Engine, cases: list[Case], min_overlap: Any = None) -> None:
    """The re-checks the cases need, in two batches (their proposals and trials, then the combinations)."""
    for stage in (Case.wanted, Case.combinations):
        rows, owners = [], []
        for case in cases:
            seen = set()
            for option in stage(case):
                if _key(option) not in case.rechecked and _key(option) not in seen:
                    seen.add(_key(option))
                    rows.append(case.project.row(case.vocabulary, option))
                    owners.append((case, option))
        if not rows:
            continue
        frame = gpd.GeoDataFrame(rows, geometry=[case.project.geometry for case, _ in owners], crs=GEOGRAPHIC)
        checked = engine.check_many(frame, min_overlap=min_overlap)
        for (case, option), verdict, cited, worst in zip(owners, checked["verdict"], checked["clauses"],
                                                         checked["worst_case"]):
            case.rechecked[_key(option)] = (str(verdict), frozenset(str(cited).split(";")) if cited else frozenset(),
                                            str(worst))
