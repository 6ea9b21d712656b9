"""Drafting YAML lists from published free text: ``zoning rules import``.

Most lists are published as text: the four fields of a unit layer (national
data specification: ``KJBJYS``, ``PWWPFGK``, ``HJFXFK``, ``ZYKFXLYQ``) or a
province's Excel table (one row per unit, one column per dimension). An
import writes one YAML list per unit in which each numbered item of a field
becomes a clause, numbered per dimension (``KJ-1``, ``PW-1``…), with its
text kept word for word and marked ``review_only`` (cited for a person to
read; never deciding a verdict). What the wording suggests (effect, industry
codes, exceptions, thresholds, dates: :mod:`zoning.authoring.drafting`) is
written beside it as comments that an engineer confirms.

An Excel row without a unit code (the province-wide or city-wide items) is
imported as a province, city or county list when the row says whose it is
(:mod:`zoning.authoring.scoping`). Every row that is not imported (empty, no
text, a repeated unit code, no unit code and no telling whose) is returned
with its row number, as Excel shows it, and the reason.

The drafts load and validate as they are.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from zoning.authoring.drafting import Proposal, comment, proposal_lines, propose, split_items
from zoning.authoring.scoping import Places
from zoning.errors import DataError, parameter
from zoning.inputs.guards import check_archive
from zoning.inputs.units import TEXT_FIELDS, UNIT_COLUMNS, UNIT_TYPES, load_units
from zoning.inputs.vector import DEFAULT_IO_ENGINE
from zoning.outputs.atomic import atomic_path
from zoning.rules.schema import DIMENSIONS

PREFIX = {"spatial_layout": "KJ", "emission_control": "PW", "risk_prevention": "FX", "resource_efficiency": "ZY"}
#: Excel headers for each column (after removing spaces, NFKC), besides the unit layer's field names
EXCEL_HEADERS = {
    "code": ("环境管控单元编码", "管控单元编码", "单元编码", "编码", "hjzhgkdybm", "code", "unit_code"),
    "name": ("环境管控单元名称", "管控单元名称", "单元名称", "名称", "hjzhgkdymc", "name", "unit_name"),
    "province": ("省", "省份", "所属省份", "省级行政区", "prov", "province"),
    "city": ("市", "地市", "城市", "所属地市", "所属城市", "所属市", "地市名称", "设区市", "地级市", "市州", "市(州)",
             "city"),
    "county": ("县", "区县", "县区", "县(区)", "县(市、区)", "县(市区)", "所属区县", "区县名称", "area", "county"),
    "type": ("环境管控单元分类", "管控单元分类", "单元分类", "管控单元类别", "单元类别", "管控单元类型", "单元类型",
             "zhgkdyfl", "type", "unit_type"),
    "spatial_layout": ("空间布局约束", "空间布局", "kjbjys", "spatial_layout"),
    "emission_control": ("污染物排放管控", "污染物排放", "pwwpfgk", "emission_control"),
    "risk_prevention": ("环境风险防控", "环境风险", "hjfxfk", "risk_prevention"),
    "resource_efficiency": ("资源利用效率", "资源开发效率要求", "资源利用效率要求", "资源开发利用效率",
                            "zykfxlyq", "resource_efficiency"),
}
_LABELS = ("code", "name", "province", "city", "county", "type")  # the cells saying whose a row is


@dataclass(frozen=True)
class Draft:
    """One imported list: where it was written and how many clauses and proposals it has."""

    path: Path
    unit: str  # the unit code; for a province, city or county list, its id
    clauses: int
    proposed: int  # clauses with a proposal (industry codes, thresholds, exceptions, a park, dates)
    level: str = "unit"
    row: int | None = None  # the Excel row it came from, when it had no unit code


@dataclass(frozen=True)
class Skipped:
    """A row (or a run of empty rows) that was not imported, and why."""

    source: str
    row: int | None  # as Excel shows it (None for a layer's feature)
    reason: str
    last_row: int | None = None  # the end of a run of empty rows
    unit: str = ""

    def __str__(self) -> str:
        """``清单.xlsx: row 7: reason`` (``rows 9-12``, or ``unit ZH…`` for a layer)."""
        where = (f"rows {self.row}-{self.last_row}" if self.last_row else f"row {self.row}") if self.row \
            else f"unit {self.unit}"
        return f"{self.source}: {where}: {self.reason}"


@dataclass(frozen=True)
class Imported:
    """What an import wrote and what it skipped."""

    drafts: list[Draft]
    skipped: list[Skipped]


def _key(text) -> str:
    """A header as compared: NFKC, no whitespace, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or ""))).lower()


def _cell(value) -> str:
    """A cell's value as stripped text (empty for an empty cell)."""
    return "" if value is None else str(value).strip()


def read_excel_lists(path, *, sheet=None, units: pd.DataFrame | None = None,
                     context: str = "") -> tuple[pd.DataFrame, list[Skipped]]:
    """A province's Excel list, and the rows not imported from it.

    The frame has the columns ``code``, ``name``, the four dimensions, ``row``
    (as Excel shows it), ``level`` (``unit``, or ``province``/``city``/``county``
    for a row without a unit code), ``admin``, ``unit_types`` and ``basis`` (how
    the scope of a row without a code was told; see :mod:`zoning.authoring.scoping`,
    which reads ``units``, a unit layer, and ``context``, e.g. the issuer). The
    header row is found among the first 10 rows (titles above it are skipped).
    """
    rows, header_at, columns, title = _sheet(path, sheet)
    source = str(path)
    skipped: list[Skipped] = []
    kept: list[dict] = []
    loose: list[dict] = []  # rows with text and no unit code
    first: dict[str, tuple[int, tuple]] = {}
    for at, cells in enumerate(rows[header_at + 1:], start=header_at + 2):
        got = {f: _cell(cells[i]) if i < len(cells) else "" for f, i in columns.items()}
        texts = tuple(got.get(f, "") for f in TEXT_FIELDS)
        code = got.get("code", "")
        if not any(_cell(c) for c in cells):
            if skipped and skipped[-1].reason == "empty row" and (skipped[-1].last_row or skipped[-1].row) == at - 1:
                skipped[-1] = Skipped(source, skipped[-1].row, "empty row", at)
            else:
                skipped.append(Skipped(source, at, "empty row"))
            continue
        if not any(texts):
            unit = f" (unit {code})" if code else ""
            skipped.append(Skipped(source, at, f"no text in the four list columns{unit}"))
            continue
        if code and re.search(r"\d", code):
            if code in first:
                before, same = first[code][0], first[code][1] == texts
                skipped.append(Skipped(source, at, f"unit code {code} is already on row {before}"
                                       + (" with the same text" if same else ", with other text: only row "
                                          f"{before} is imported; merge the two rows' text into one and import "
                                          "again")))
                continue
            first[code] = (at, texts)
            kept.append({**got, "row": at, "level": "unit", "admin": "", "unit_types": (), "basis": ""})
            continue
        if got.get("type", "").isdigit() and int(got["type"]) in UNIT_TYPES:
            got["type"] = UNIT_TYPES[int(got["type"])][1]
        label = " ".join(dict.fromkeys(got[f] for f in _LABELS if got.get(f))) or " ".join(
            _cell(c) for i, c in enumerate(cells) if i not in columns.values() and _cell(c))
        loose.append({**got, "code": "", "row": at, "label": label, "texts": texts})
    coded = pd.DataFrame(kept, columns=["row", "code", "province", "city", "county"], dtype=object).fillna("")
    places = Places(coded, context=f"{title} {context}", units=units)
    reached: dict[tuple, int] = {}
    for n, item in enumerate(loose):
        after = loose[n + 1]["row"] if n + 1 < len(loose) else None
        found = places.reach(item["row"], item["label"], after)
        if isinstance(found, str):
            skipped.append(Skipped(source, item["row"], found))
            continue
        twin = reached.get((found.level, found.admin, found.unit_types, item["texts"]))
        if twin:
            skipped.append(Skipped(source, item["row"], f"the same {found.level} list as row {twin} (same scope, "
                                                        "same text)"))
            continue
        reached[(found.level, found.admin, found.unit_types, item["texts"])] = item["row"]
        kept.append({**item, "name": item.get("name") or item["label"], "level": found.level, "admin": found.admin,
                     "unit_types": found.unit_types, "basis": found.basis})
    frame = pd.DataFrame(kept, columns=["code", "name", *TEXT_FIELDS, "row", "level", "admin", "unit_types", "basis"])
    for f in ("code", "name", *TEXT_FIELDS, "admin", "basis"):
        frame[f] = frame[f].fillna("").astype(str)
    return frame.sort_values("row").reset_index(drop=True), sorted(skipped, key=lambda s: s.row or 0)


def _sheet(path, sheet) -> tuple[list[list], int, dict[str, int], str]:
    """The sheet's rows (merged cells filled), the header's index, each field's column and the title text."""
    from openpyxl import load_workbook

    if Path(path).suffix.lower() not in (".xlsx", ".xlsm"):
        raise DataError(f"{path}: not an .xlsx workbook; save it as .xlsx (Excel: Save As, Excel Workbook)")
    check_archive(path, "list workbook")
    try:
        book = load_workbook(path, data_only=True)  # not read-only: merged cells are needed
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise DataError(f"{path}: cannot read as an Excel workbook (.xlsx): {exc}") from None
    try:
        ws = book[sheet] if sheet else book.worksheets[0]
    except KeyError:
        raise DataError(f"{path}: no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})") from None
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    for merged in ws.merged_cells.ranges:  # a text merged over several unit rows belongs to each of them
        top = rows[merged.min_row - 1][merged.min_col - 1]
        for r in range(merged.min_row - 1, min(merged.max_row, len(rows))):
            for c in range(merged.min_col - 1, min(merged.max_col, len(rows[r]))):
                rows[r][c] = top
    title = ws.title
    book.close()
    lookup = {_key(h): field for field, names in EXCEL_HEADERS.items() for h in names}
    for at, row in enumerate(rows[:10]):
        columns: dict[str, int] = {}
        for i, k in enumerate(_key(c) for c in row):
            if k in lookup and lookup[k] not in columns:
                columns[lookup[k]] = i
        if "code" in columns and any(f in columns for f in TEXT_FIELDS):
            above = " ".join(_cell(c) for r in rows[:at] for c in r if _cell(c))
            return rows, at, columns, f"{title} {above}"
    raise DataError(f"{path}: no header row with a unit-code column (环境管控单元编码) and at least one of "
                    "空间布局约束, 污染物排放管控, 环境风险防控, 资源利用效率 in the first 10 rows")


def read_layer_lists(path, *, io_engine: str = DEFAULT_IO_ENGINE) -> tuple[pd.DataFrame, list[Skipped]]:
    """The code, name and four text fields of a unit layer (national or canonical field names), and its
    units without text (not imported)."""
    units = load_units(path, io_engine=io_engine)
    present = [f for f in TEXT_FIELDS if units[f].str.strip().ne("").any()]
    if not present:
        names = ", ".join(UNIT_COLUMNS[f][-1] for f in TEXT_FIELDS)
        raise DataError(f"{path}: no text in the four list fields ({names}); nothing to import")
    empty = units[list(TEXT_FIELDS)].apply(lambda c: c.str.strip().eq("")).all(axis=1)
    skipped = [Skipped(str(path), None, "no text in the four list fields", unit=code) for code in units["code"][empty]]
    return pd.DataFrame(units.loc[~empty, ["code", "name", *TEXT_FIELDS]]), skipped


def import_lists(source, out_dir, *, issuer: str, date: dt.date, effective_from: dt.date | None = None,
                 version: str = "1", document: str | None = None, sheet: str | None = None,
                 units: pd.DataFrame | None = None, io_engine: str = DEFAULT_IO_ENGINE,
                 overwrite: bool = False) -> Imported:
    """Draft lists from ``source`` (a unit layer, or an .xlsx list read with the unit layer ``units``) into
    ``out_dir``: what was written, and every row skipped with its reason."""
    name = document or Path(source).name
    if Path(source).suffix.lower() in (".xlsx", ".xlsm"):
        frame, skipped = read_excel_lists(source, sheet=sheet, units=units, context=f"{issuer} {name}")
    else:
        frame, skipped = read_layer_lists(source, io_engine=io_engine)
    drafts = write_drafts(frame, out_dir, source_name=name, issuer=issuer, date=date,
                          effective_from=effective_from, version=version, overwrite=overwrite)
    return Imported(drafts, skipped)


def write_drafts(frame: pd.DataFrame, out_dir, *, source_name: str, issuer: str, date: dt.date,
                 effective_from: dt.date | None = None, version: str = "1",
                 overwrite: bool = False) -> list[Draft]:
    """One YAML list per row with text in ``out_dir``: ``<code>.yaml`` for a unit, ``<level>-<admin>.yaml``
    for a row without a unit code (``level``, ``admin``, ``unit_types`` columns, from
    :func:`read_excel_lists`); existing files are refused unless ``overwrite``. Returns what was written."""
    out_dir = Path(out_dir)
    todo = []
    by_file: dict[str, str] = {}
    for row in frame.to_dict("records"):
        items = {dim: split_items(row[dim]) for dim in TEXT_FIELDS}
        if not any(items.values()):
            continue
        level = row.get("level") or "unit"
        if level == "unit":
            list_id, name = f"unit-{_safe(row['code'])}", f"{_safe(row['code'])}.yaml"
        else:
            types = "".join(map(str, row.get("unit_types") or ()))
            list_id = f"{level}-{row['admin']}" + (f"-type{types}" if types else "")
            if f"{list_id}.yaml".lower() in by_file:
                list_id += f"-row{row['row']}"
            name = f"{list_id}.yaml"
        if name.lower() in by_file:
            raise DataError(f"units {by_file[name.lower()]!r} and {row['code']!r} would both be written to {name} "
                            "(characters other than letters, digits, '.', '_' and '-' become '_'); correct the codes")
        by_file[name.lower()] = row["code"] or list_id
        todo.append((row, list_id, items, out_dir / name))
    existing = [str(path) for *_, path in todo if path.exists()]
    if existing and not overwrite:
        raise DataError(f"{len(existing)} draft(s) exist already, e.g. {existing[0]}; import into an empty directory "
                        f"or pass {parameter('overwrite')}")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{out_dir}: cannot create the directory: {exc.strerror}") from None
    drafts = []
    for row, list_id, items, path in todo:
        text, proposed = _draft_yaml(row, list_id, items, source_name=source_name, issuer=issuer, date=date,
                                     effective_from=effective_from or date, version=version)
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
        level = row.get("level") or "unit"
        drafts.append(Draft(path, row["code"] if level == "unit" else list_id, sum(map(len, items.values())),
                            proposed, level, None if level == "unit" else int(row["row"])))
    return drafts


def _safe(code: str) -> str:
    """A unit code as a file name and list id: other characters than letters, digits, . _ - become _."""
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", code)


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML; characters YAML reads as line breaks or
    refuses are escaped)."""
    quoted = json.dumps(str(text), ensure_ascii=False)
    return re.sub(r"[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]", lambda m: f"\\u{ord(m[0]):04x}", quoted)


def _draft_yaml(row, list_id, items, *, source_name, issuer, date, effective_from, version) -> tuple[str, int]:
    """The YAML text of one draft, and how many of its clauses carry proposals."""
    level = row.get("level") or "unit"
    clauses: list[str] = []
    proposed = 0
    dates: dict[dt.date, str] = {}
    for dim, texts in items.items():
        for n, text in enumerate(texts, 1):
            p: Proposal = propose(text)
            clauses += [
                f"  - id: {PREFIX[dim]}-{n}",
                f"    dimension: {dim}",
                f"    effect: {p.effect}  # {comment(p.effect_note, 200)}",
                "    review_only: true",
                f"    text: {_q(text)}",
                "    source:",
                f"      article: {_q(f'{DIMENSIONS[dim]}第{n}条')}",
                *proposal_lines(p),
            ]
            proposed += p.any
            for day, _ in p.dates:
                dates.setdefault(day, f"{PREFIX[dim]}-{n}")
    lines = [
        f"# Imported by 'zoning rules import' from {comment(source_name)} on {dt.date.today()}: a DRAFT to review.",
        "# Every clause keeps the published text and is review_only (cited for a person to read, never",
        "# deciding a verdict). Effects are proposed from the wording; industry codes, thresholds, exceptions",
        "# (unless) and dates the text names are proposed as comments. To accept a clause: check its effect,",
        "# uncomment and correct its conditions/unless, and delete its review_only line. Then run",
        "# 'zoning rules validate'.",
    ]
    if level == "unit":
        lines += [f"id: {_q(list_id)}", f"title: {_q(str(row['name']) + '生态环境准入清单（导入草稿）')}"]
    else:
        lines += [f"# Row {row['row']} has no unit code: read as a {level} list for division {row['admin']} "
                  f"({comment(row.get('basis', ''), 160)}). Confirm the scope.",
                  f"id: {_q(list_id)}", f"title: {_q(comment(row['name'], 200) + '生态环境准入清单（导入草稿）')}"]
    lines += [f"issuer: {_q(issuer)}", f"version: {_q(version)}", f"effective_from: {effective_from.isoformat()}"]
    lines += [f"# Proposed effective_from (unconfirmed): {day.isoformat()}, a date the text states ({where}); "
              "if it holds for some clauses only, give them a list version of their own"
              for day, where in dates.items()]
    lines += [f"level: {level}", "scope:"]
    if level == "unit":
        lines.append(f"  units: [{_q(row['code'])}]")
    else:
        lines.append(f"  admin: [{_q(row['admin'])}]")
        if row.get("unit_types"):
            lines.append(f"  unit_types: [{', '.join(map(str, row['unit_types']))}]")
    lines += ["source:", f"  document: {_q(source_name)}", f"  issuer: {_q(issuer)}", f"  date: {date.isoformat()}",
              "clauses:", *clauses]
    return "\n".join(lines) + "\n", proposed
