"""The Excel output: a workbook written by XlsxWriter in constant-memory mode, ready to read and to print.

Sheets ``screened`` (every row, input order), ``prohibited`` and
``restricted`` (those rows again, for review) and ``summary``. Each data
sheet has typed cells (numbers, dates, TRUE/FALSE; see
:mod:`zoning.outputs.columns`), column widths from the header and the first
rows, a frozen header row with an autofilter, number formats, the verdict
coloured, a Chinese verdict column ``准入判定`` (禁止/限制/待定/允许/不在管控单元内)
beside the English one, and a landscape A4 print set-up fitted to the page width with
the header row repeated on every page and page numbers in the footer.

Text is always written as text: ``strings_to_formulas`` and the other
conversions are off, so a cell ``=cmd|…`` stays the text it was.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from zoning.errors import DataError
from zoning.outputs.columns import DATE, DATETIME, FLAG, INTEGER, REAL, TEXT, ColumnTypes
from zoning.verdicts import SERIOUSNESS

XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_CELL = 32_767
FLAGGED = ("prohibited", "restricted")
#: fill and font colours of each verdict (light fills, dark text: readable in print and on screen)
VERDICT_COLOURS = {
    "prohibited": ("#F4C7C3", "#9C0006"), "restricted": ("#FCE4CC", "#8A4B00"),
    "undetermined": ("#FFF2CC", "#7F6000"), "permitted": ("#D9EAD3", "#274E13"),
    "not_covered": ("#E7E6E6", "#3A3A3A"), "error": ("#E6D5EC", "#4B1E63"),
}
_NUMBER_FORMATS = {REAL: "General", INTEGER: "0", DATE: "yyyy-mm-dd", DATETIME: "yyyy-mm-dd hh:mm:ss", TEXT: "@"}
_WIDTHS = {REAL: 12, INTEGER: 10, DATE: 11, DATETIME: 19, FLAG: 7}
_MIN_WIDTH, _MAX_WIDTH = 6, 48


#: the Chinese verdict column, beside the English one
ZH_COLUMN = "准入判定"


class ExcelWriter:
    """Writes result chunks to an ``.xlsx`` (the interface of :class:`zoning.outputs.writers.TableWriter`)."""

    def __init__(self, path, *, verdict_column: str = "verdict", text_columns=(), parse_columns=(), **_):
        import xlsxwriter  # here, not at module level: only this output needs it

        self.path = path
        self.verdict_column = verdict_column
        self.rows = 0
        self.book = xlsxwriter.Workbook(str(path), {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False, "nan_inf_to_errors": True,
            "default_date_format": "yyyy-mm-dd"})
        self.book.set_properties({"title": "zoning screen", "comments": "written by zoning"})
        self.sheets = {name: self.book.add_worksheet(name) for name in ("screened", *FLAGGED, "summary")}
        self.next_row = {name: 1 for name in self.sheets}
        self.zh_column = ZH_COLUMN  # zoning_准入判定 if the input has one (a screened workbook, screened again)
        self.types = ColumnTypes(text=[*text_columns, ZH_COLUMN, f"zoning_{ZH_COLUMN}"], parse=parse_columns)
        self.columns: list[str] | None = None
        self.header = self.book.add_format({"bold": True, "bg_color": "#D9D9D9", "bottom": 1, "valign": "top"})
        self.column_formats: list = []

    @property
    def notes(self) -> list[str]:
        return self.types.notes()

    def write(self, frame: pd.DataFrame, geometry, raw_json=None) -> None:
        if raw_json:
            frame = frame.assign(**{f"{name}_json": values for name, values in raw_json.items()})
        if self.rows + len(frame) >= XLSX_MAX_ROWS:
            raise DataError(f"output {self.path.name}: more than {XLSX_MAX_ROWS - 1:,} rows do not fit in an "
                            "Excel sheet; write .csv, .gpkg or .parquet instead")
        frame = self._with_chinese_verdict(frame)
        table = self.types.table(frame)
        if self.columns is None:
            self._start(table)
        kinds = [self.types.kinds[n] for n in table.column_names]
        columns = [_cells(table.column(i), kind) for i, kind in enumerate(kinds)]
        verdicts = frame[self.verdict_column].to_numpy(dtype=object) if self.verdict_column in frame else None
        self._rows(self.sheets["screened"], "screened", columns, kinds, np.arange(len(frame)))
        for name in FLAGGED:
            if verdicts is not None:
                self._rows(self.sheets[name], name, columns, kinds, np.flatnonzero(verdicts == name))
        self.rows += len(frame)

    def _with_chinese_verdict(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.verdict_column not in frame:
            return frame
        zh = frame[self.verdict_column].map({v.key: v.zh_short for v in SERIOUSNESS})
        at = frame.columns.get_loc(self.verdict_column) + 1
        if self.rows == 0 and ZH_COLUMN in frame.columns:
            self.zh_column = f"zoning_{ZH_COLUMN}"
        frame = frame.copy()
        frame.insert(at, self.zh_column, zh.astype(object))
        return frame

    def _start(self, table: pa.Table) -> None:
        """The header row, column widths and formats, frozen header and print set-up of each data sheet."""
        self.columns = table.column_names
        widths = [_width(name, table.column(i), self.types.kinds[name]) for i, name in enumerate(self.columns)]
        self.column_formats = [self.book.add_format({"num_format": _NUMBER_FORMATS.get(self.types.kinds[n],
                                                                                         "General")})
                               for n in self.columns]
        for name in ("screened", *FLAGGED):
            sheet = self.sheets[name]
            for i, (column, width) in enumerate(zip(self.columns, widths)):
                sheet.set_column(i, i, width, self.column_formats[i])
                sheet.write_string(0, i, column, self.header)
            sheet.freeze_panes(1, 0)
            sheet.set_landscape()
            sheet.set_paper(9)  # A4
            sheet.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
            sheet.repeat_rows(0)
            sheet.fit_to_pages(1, 0)  # the width of one page, as many pages down as it takes
            sheet.set_header("&L&A&R&D")  # the sheet's name; the date printed
            sheet.set_footer("&C&P / &N")

    def _rows(self, sheet, name: str, columns: list[list], kinds: list[str], rows: np.ndarray) -> None:
        """Write ``rows`` (positions in the chunk) below what the sheet has; XlsxWriter takes one cell at a time."""
        start = self.next_row[name]
        writers = [_WRITE[kind](sheet) for kind in kinds]
        cells = list(zip(writers, columns))
        for offset, i in enumerate(rows.tolist()):
            r = start + offset
            for c, (write, values) in enumerate(cells):
                value = values[i]
                if value is not None:
                    write(r, c, value)
        self.next_row[name] = start + len(rows)

    def close(self, summary=None) -> None:
        for name in ("screened", *FLAGGED):
            sheet, last = self.sheets[name], self.next_row[name] - 1
            if self.columns:
                sheet.autofilter(0, 0, max(last, 1), len(self.columns) - 1)
                self._colour_verdicts(sheet, max(last, 1))
        sheet = self.sheets["summary"]
        sheet.set_column(0, 0, 12)
        sheet.set_column(1, 1, 36)
        sheet.set_column(2, 2, 10, self.book.add_format({"num_format": "#,##0"}))
        for i, heading in enumerate(("section", "value", "rows")):
            sheet.write_string(0, i, heading, self.header)
        verdict_format = {v.key: f"{v.key} {v.zh_short}" for v in SERIOUSNESS}
        for r, (section, label, count) in enumerate(summary or [], start=1):
            sheet.write_string(r, 0, str(section))
            sheet.write_string(r, 1, verdict_format.get(label, str(label)) if section == "verdict" else str(label))
            sheet.write_number(r, 2, count)
        self.book.close()

    def _colour_verdicts(self, sheet, last: int) -> None:
        assert self.columns is not None
        for column in (self.verdict_column, self.zh_column):
            if column not in self.columns:
                continue
            c = self.columns.index(column)
            for verdict in SERIOUSNESS:
                fill, font = VERDICT_COLOURS[verdict.key]
                text = verdict.zh_short if column != self.verdict_column else verdict.key
                sheet.conditional_format(1, c, last, c, {
                    "type": "cell", "criteria": "==", "value": f'"{text}"',
                    "format": self.book.add_format({"bg_color": fill, "font_color": font})})

    def abort(self) -> None:
        try:
            self.book.close()  # removes its temporary files; the caller removes the output
        except Exception:  # noqa: BLE001 - closing after a failure: the first error is the one reported
            pass


def _cells(array: pa.ChunkedArray, kind: str) -> list:
    """A column's cells as Python values for XlsxWriter (None for a blank cell)."""
    if kind == TEXT:
        too_long = pc.greater(pc.utf8_length(array), XLSX_MAX_CELL)
        if pc.any(too_long).as_py():
            cut = pc.binary_join_element_wise(pc.utf8_slice_codeunits(array, 0, XLSX_MAX_CELL - 1), "…", "")
            array = pc.if_else(too_long, cut, array)
    if kind in (REAL, INTEGER):
        finite = pc.is_finite(pc.cast(array, pa.float64()))
        array = pc.if_else(finite, array, pa.scalar(None, array.type))  # Excel has no NaN or infinity
    return array.to_pylist()


def _text_writer(sheet):
    write = sheet.write_string
    rich = sheet.write_rich_string

    def text(r, c, value):
        # In constant-memory mode XlsxWriter copies a text shaped like its own rich-text XML (<r>…</r>) into
        # the sheet unescaped, which would let a cell write other cells, formulas included: such text goes in
        # as plain rich-text fragments, which it escapes (it wants at least three)
        if value.startswith("<r>") and value.endswith("</r>"):
            rich(r, c, value[:1], value[1:2], value[2:])
        else:
            write(r, c, value)
    return text


_WRITE = {
    TEXT: _text_writer,
    REAL: lambda sheet: sheet.write_number,
    INTEGER: lambda sheet: sheet.write_number,
    FLAG: lambda sheet: sheet.write_boolean,
    DATE: lambda sheet: sheet.write_datetime,
    DATETIME: lambda sheet: sheet.write_datetime,
}


def _width(name: str, array: pa.ChunkedArray, kind: str) -> float:
    """A column's width in characters: its header's and most of its first cells' (CJK characters count two)."""
    head = len(name) + sum(1 for ch in name if ord(ch) >= 0x2E80)
    if kind != TEXT:
        return float(min(max(head, _WIDTHS.get(kind, 10)) + 2, _MAX_WIDTH))
    sample = array.slice(0, 5000)
    wide = pc.add(pc.utf8_length(sample), pc.count_substring_regex(sample, "[\u2e80-\U0010ffff]"))
    values = wide.to_numpy(zero_copy_only=False)
    values = values[~np.isnan(values.astype(float))] if len(values) else values
    body = float(np.quantile(values.astype(float), 0.9)) if len(values) else 0.0
    return float(min(max(head, body, _MIN_WIDTH) + 2, _MAX_WIDTH))

