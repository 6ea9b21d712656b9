"""Drafting YAML lists from published free text: ``zoning rules import``.

Most lists are published as text: the four fields of a unit layer (national
data specification: ``KJBJYS``, ``PWWPFGK``, ``HJFXFK``, ``ZYKFXLYQ``) or a
province's Excel table (one row per unit, one column per dimension). An
import writes one YAML list per unit in which:

* each numbered item of a field (``1.`` ``（1）`` ``一、`` …) becomes a
  clause, numbered per dimension (``KJ-1``, ``PW-1``…), with its text kept
  word for word and marked ``review_only`` (cited for a person to read;
  never deciding a verdict);
* the effect is proposed from the wording (禁止/不得 → prohibit,
  限制/控制/替代 → restrict, else require);
* GB/T 4754 codes are proposed for industry words found in the text (钢铁,
  焦化, 水泥, 平板玻璃, 石化, 火电, 电镀, 制革, 造纸…, and any class name
  written out in full), as a commented ``conditions`` block that an engineer
  confirms by uncommenting it and removing ``review_only``.

The drafts load and validate as they are.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd

from zoning.errors import DataError, parameter
from zoning.industries import table as industry_table
from zoning.inputs.guards import check_archive
from zoning.inputs.units import TEXT_FIELDS, UNIT_COLUMNS, load_units
from zoning.outputs.atomic import atomic_path
from zoning.rules.schema import DIMENSIONS

PREFIX = {"spatial_layout": "KJ", "emission_control": "PW", "risk_prevention": "FX", "resource_efficiency": "ZY"}
#: Excel headers for each column (after removing spaces), besides the unit layer's field names
EXCEL_HEADERS = {
    "code": ("环境管控单元编码", "管控单元编码", "单元编码", "编码", "hjzhgkdybm", "code", "unit_code"),
    "name": ("环境管控单元名称", "管控单元名称", "单元名称", "名称", "hjzhgkdymc", "name", "unit_name"),
    "spatial_layout": ("空间布局约束", "空间布局", "kjbjys", "spatial_layout"),
    "emission_control": ("污染物排放管控", "污染物排放", "pwwpfgk", "emission_control"),
    "risk_prevention": ("环境风险防控", "环境风险", "hjfxfk", "risk_prevention"),
    "resource_efficiency": ("资源利用效率", "资源开发效率要求", "资源利用效率要求", "资源开发利用效率",
                            "zykfxlyq", "resource_efficiency"),
}
_ITEM = re.compile(r"(?:^|(?<=[。；;：:\s]))"  # at the start, or after punctuation or a space:
                   r"(?:\d{1,2}[.．、](?!\d)|[（(]?\d{1,2}[)）]|[一二三四五六七八九十]{1,3}、)"  # 1. 1、 (1) 1) 一、
                   r"|[\u2460-\u2473]")  # ①…⑳ anywhere
_PROHIBIT = re.compile(r"禁止|不得|严禁|不再|一律不|禁建")
_RESTRICT = re.compile(r"限制|严控|严格控制|控制|削减|替代|限批|不宜")


@dataclass(frozen=True)
class Draft:
    """One unit's imported list: where it was written and how many clauses and proposals it has."""

    path: Path
    unit: str
    clauses: int
    proposed: int  # clauses with proposed industry codes


def split_items(text: str) -> list[str]:
    """A field's text split at its item numbers (``1.``, ``（2）``, ``三、``); the numbers are dropped."""
    text = str(text).strip()
    starts = [m.start() for m in _ITEM.finditer(text)]
    if len(starts) < 2:
        return [_ITEM.sub("", text, count=1).strip()] if text else []
    if starts[0] > 0 and text[:starts[0]].strip():  # a lead-in before item 1 stays with item 1
        starts[0] = 0
    pieces = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)])]
    return [_ITEM.sub("", p, count=1).strip() if i or _ITEM.match(p) else p.strip()
            for i, p in enumerate(pieces) if p.strip()]


def propose_effect(text: str) -> tuple[str, str]:
    """(effect, the word that suggested it) from a clause's wording."""
    for effect, pattern in (("prohibit", _PROHIBIT), ("restrict", _RESTRICT)):
        found = pattern.search(text)
        if found:
            return effect, found[0]
    return "require", ""


@cache
def _matchers():
    path = files("zoning") / "data" / "industry_keywords.csv"
    with path.open("r", encoding="utf-8") as fh:
        words = pd.read_csv(fh, dtype=str, keep_default_na=False)
    keywords = {row.word: row.codes.split() for row in words.itertuples() if row.word}
    classes = industry_table().frame
    classes = classes[(classes["level"] >= 3) & (classes["name"].str.len() >= 4)
                      & ~classes["name"].str.startswith("其他")]
    names = {row.name: [f"{row.section}{row.code}"] for row in classes.itertuples()}
    vocabulary = {**names, **keywords}  # a keyword wins over a class name spelt the same
    pattern = re.compile("|".join(re.escape(w) for w in sorted(vocabulary, key=len, reverse=True)))
    return pattern, vocabulary


def propose_industries(text: str) -> list[tuple[str, list[str]]]:
    """Industry words found in ``text`` and the GB/T 4754 codes proposed for each (in order of appearance)."""
    pattern, vocabulary = _matchers()
    found: dict[str, list[str]] = {}
    for match in pattern.finditer(text):
        found.setdefault(match[0], vocabulary[match[0]])
    return list(found.items())


def read_excel_lists(path, *, sheet=None) -> pd.DataFrame:
    """A province's Excel list: columns code, name and the four dimensions (missing ones empty).

    The header row is found among the first 10 rows (titles above it are skipped).
    """
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
    book.close()
    lookup = {h: field for field, names in EXCEL_HEADERS.items() for h in names}
    header_at: int | None = None
    columns: dict[str, int] = {}
    for at, row in enumerate(rows[:10]):
        keys = [re.sub(r"\s+", "", str(c or "")).lower() for c in row]
        columns = {}
        for i, k in enumerate(keys):
            if k in lookup and lookup[k] not in columns:
                columns[lookup[k]] = i
        if "code" in columns and any(f in columns for f in TEXT_FIELDS):
            header_at = at
            break
    if header_at is None:
        raise DataError(f"{path}: no header row with a unit-code column (环境管控单元编码) and at least one of "
                        "空间布局约束, 污染物排放管控, 环境风险防控, 资源利用效率 in the first 10 rows")
    data = {f: [row[i] if i < len(row) else None for row in rows[header_at + 1:]] for f, i in columns.items()}
    frame = pd.DataFrame(data)
    for f in ("name", *TEXT_FIELDS):
        if f not in frame:
            frame[f] = ""
    frame.index = np.arange(header_at + 2, header_at + 2 + len(frame))  # the rows Excel shows
    frame = frame[frame["code"].notna() & (frame["code"].astype(str).str.strip() != "")]
    frame = frame.fillna("").astype(str)
    frame["code"] = frame["code"].str.strip()
    twice = frame[frame["code"].duplicated(keep=False)]
    if len(twice):
        listed = "; ".join(f"{code} (rows {', '.join(map(str, rows.index))})"
                           for code, rows in list(twice.groupby("code", sort=False))[:5])
        raise DataError(f"{path}: unit code(s) on more than one row: {listed}; keep one row per unit")
    return frame.reset_index(drop=True)


def read_layer_lists(path, *, io_engine: str = "pyogrio") -> pd.DataFrame:
    """The code, name and four text fields of a unit layer (national or canonical field names)."""
    units = load_units(path, io_engine=io_engine)
    present = [f for f in TEXT_FIELDS if units[f].str.strip().ne("").any()]
    if not present:
        names = ", ".join(UNIT_COLUMNS[f][-1] for f in TEXT_FIELDS)
        raise DataError(f"{path}: no text in the four list fields ({names}); nothing to import")
    return pd.DataFrame(units[["code", "name", *TEXT_FIELDS]])


def write_drafts(frame: pd.DataFrame, out_dir, *, source_name: str, issuer: str, date: dt.date,
                 effective_from: dt.date | None = None, version: str = "1",
                 overwrite: bool = False) -> list[Draft]:
    """One YAML list per unit with text in ``out_dir`` (``<code>.yaml``); existing files are
    refused unless ``overwrite``. Returns what was written."""
    out_dir = Path(out_dir)
    todo = []
    by_file: dict[str, str] = {}
    for row in frame.itertuples(index=False):
        items = {dim: split_items(getattr(row, dim)) for dim in TEXT_FIELDS}
        if not any(items.values()):
            continue
        name = f"{_safe(row.code)}.yaml"
        if name.lower() in by_file:
            raise DataError(f"units {by_file[name.lower()]!r} and {row.code!r} would both be written to {name} "
                            "(characters other than letters, digits, '.', '_' and '-' become '_'); correct the codes")
        by_file[name.lower()] = row.code
        todo.append((row, items, out_dir / name))
    existing = [str(path) for _, _, path in todo if path.exists()]
    if existing and not overwrite:
        raise DataError(f"{len(existing)} draft(s) exist already, e.g. {existing[0]}; import into an empty directory "
                        f"or pass {parameter('overwrite')}")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{out_dir}: cannot create the directory: {exc.strerror}") from None
    drafts = []
    for row, items, path in todo:
        text, proposed = _draft_yaml(row.code, row.name, items, source_name=source_name, issuer=issuer, date=date,
                                     effective_from=effective_from or date, version=version)
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
        drafts.append(Draft(path, row.code, sum(map(len, items.values())), proposed))
    return drafts


def _safe(code: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", code)


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


def _draft_yaml(code, name, items, *, source_name, issuer, date, effective_from, version) -> tuple[str, int]:
    lines = [
        f"# Imported by 'zoning rules import' from {source_name} on {dt.date.today()}: a DRAFT to review.",
        "# Every clause keeps the published text and is review_only (cited for a person to read, never",
        "# deciding a verdict). Effects are proposed from the wording; industry codes, where the text names",
        "# industries, are proposed as commented conditions. To accept a clause: check its effect, uncomment",
        "# and correct its conditions, and delete its review_only line. Then run 'zoning rules validate'.",
        f"id: {_q('unit-' + _safe(code))}",
        f"title: {_q(f'{name}生态环境准入清单（导入草稿）')}",
        f"issuer: {_q(issuer)}",
        f"version: {_q(version)}",
        f"effective_from: {effective_from.isoformat()}",
        "level: unit",
        "scope:",
        f"  units: [{_q(code)}]",
        "source:",
        f"  document: {_q(source_name)}",
        f"  issuer: {_q(issuer)}",
        f"  date: {date.isoformat()}",
        "clauses:",
    ]
    proposed = 0
    for dim, texts in items.items():
        for n, text in enumerate(texts, 1):
            effect, word = propose_effect(text)
            lines += [
                f"  - id: {PREFIX[dim]}-{n}",
                f"    dimension: {dim}",
                f"    effect: {effect}" + (f"  # proposed from {word!r} in the text; confirm" if word else
                                           "  # no prohibit/restrict wording found; confirm"),
                "    review_only: true",
                f"    text: {_q(text)}",
                "    source:",
                f"      article: {_q(f'{DIMENSIONS[dim]}第{n}条')}",
            ]
            found = propose_industries(text)
            if found:
                proposed += 1
                codes = list(dict.fromkeys(c for _, cs in found for c in cs))
                names = "; ".join(f"{w} → {' '.join(cs)}" for w, cs in found)
                lines += [
                    f"    # Proposed industry codes (unconfirmed), from the words: {names}",
                    "    # conditions:",
                    f"    #   industry: [{', '.join(codes)}]",
                ]
    return "\n".join(lines) + "\n", proposed
