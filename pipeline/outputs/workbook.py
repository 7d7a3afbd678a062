"""Accessible data workbook (XLSX) in the style of the inspectorate's annex workbooks.

Follows the Analysis Function's guidance for releasing statistics in spreadsheets: a cover
sheet, contents and notes; one table per sheet, starting in cell A-column with a single header
row and no merged cells; each table marked up as an Excel table; shorthand instead of blank
cells ([c] suppressed for confidentiality, [x] not available, [z] not applicable); units in the
column headers. Text is written as text, never as a formula, and text that starts like a formula
is prefixed with an apostrophe. No dates or times are stored, so the same tables give the same
file.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from pipeline import refdata
from pipeline.config import Settings
from pipeline.outputs import labels
from pipeline.stages.store import escape_formulas

FIXED_TIMESTAMP = dt.datetime(2021, 6, 26)


@dataclass(frozen=True)
class TableSheet:
    """One table to publish: sheet name (<= 31 chars, readable), title, description, the
    frame and the table's code."""

    sheet: str
    title: str
    description: str
    frame: pl.DataFrame
    table: str = ""  # the table's code, for the Excel table's name (else from the sheet name)


def header_label(column: str) -> str:
    """Column header with its unit, in plain English ('Sufficient (%)')."""
    return labels.workbook_header(column)


def _wrapped_height(text: str, width_chars: int) -> float:
    """Row height for wrapped text: spreadsheet programs do not always grow rows themselves."""
    lines = max(1, math.ceil(len(text) / (width_chars * 0.95)))
    return 15.0 * lines + 3


def _missing(value: object) -> bool:
    """No value to show: null, NaN or infinite (shown as [c] where suppressed, else [x])."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


KIND_FORMATS = {
    "percentage": "0.0",
    "percentage_points": "0.0",
    "percentage_points_squared": "0.0",
    "p_value": '[<0.001]"<0.001";0.000',
    "correlation": "0.00",
    "odds_ratio": "0.00",
    "ratio": "0.00",
    "z_score": "0.00",
    "count": "#,##0",
    "degrees_of_freedom": "#,##0",
    "year": "0",
}
"""The number format of each column kind (`labels.column_kind`): one decimal for percentages
and percentage points, p-values to three decimals (below 0.001 shown as '<0.001', the number
kept), correlations, ratios and z-scores to two, counts with thousands separators, years bare.
Other numbers: `#,##0` for whole numbers, `#,##0.0##` otherwise."""

WHOLE_NUMBER = r"^-?(?:0|[1-9]\d{0,14})$"
"""Text that is a whole number (a year in a mixed `period` column): written as a number. A
leading zero marks an identifier, which stays text."""


@dataclass
class _Formats:
    """The workbook's cell formats, created once per workbook."""

    bold: Format
    heading: Format
    wrap: Format
    number: Format
    integer: Format
    date: Format
    link: Format
    header: Format
    kinds: dict[str, Format]

    @classmethod
    def of(cls, wb: xlsxwriter.Workbook) -> _Formats:
        return cls(
            kinds={kind: wb.add_format({"num_format": f}) for kind, f in KIND_FORMATS.items()},
            bold=wb.add_format({"bold": True}),
            heading=wb.add_format({"bold": True, "font_size": 14}),
            wrap=wb.add_format({"text_wrap": True, "valign": "top"}),
            number=wb.add_format({"num_format": "#,##0.0##"}),
            integer=wb.add_format({"num_format": "#,##0"}),
            date=wb.add_format({"num_format": "yyyy-mm-dd"}),
            link=wb.add_format({"font_color": "#1F4E79", "underline": 1}),
            header=wb.add_format({"bold": True, "text_wrap": True, "valign": "top"}),
        )


def write_workbook(
    path: Path,
    sheets: list[TableSheet],
    title: str,
    synthetic: bool,
    notes: list[str],
    settings: Settings | None = None,
    internal: bool = False,
) -> None:
    """Write the workbook; `notes` are numbered in the Notes sheet."""
    settings = settings or refdata.settings()
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties(
        {"title": title, "created": FIXED_TIMESTAMP, "author": "probation inspection analytics"}
    )
    formats = _Formats.of(wb)
    _cover(wb, formats, title, synthetic, settings, internal)
    _contents(wb, formats, sheets)
    _notes(wb, formats, notes)
    for sheet in sheets:
        _table(wb, formats, sheet)
    wb.close()


def _cover(
    wb: xlsxwriter.Workbook,
    formats: _Formats,
    title: str,
    synthetic: bool,
    settings: Settings,
    internal: bool = False,
) -> None:
    cover = wb.add_worksheet("Cover")
    _print_setup(cover)
    cover.set_column(0, 0, 110)
    cover.write_string(0, 0, title, formats.heading)
    lines = [
        (
            "This workbook contains the tables produced by the probation inspection analytics "
            "pipeline: sufficiency of case supervision by key question over time, before and "
            "after unification of the probation service (26 June 2021), by region and subgroup, "
            f"with counts and {settings.confidence_pct} confidence intervals, and ratings by "
            "the configured rule."
        ),
        (
            "SYNTHETIC DATA: the case-level figures in this workbook come from a generated sample. "
            "They are not official statistics and describe no real inspection."
            if synthetic
            else "Case-level figures come from the inspection records supplied."
        ),
        "The published_ratings table holds real, published inspection ratings (sources in the "
        "notes).",
        (
            "INTERNAL, UNSUPPRESSED: NOT FOR PUBLICATION. These are the team's analysis tables "
            "at full precision with real counts; nothing is suppressed. Publish only the "
            "tables of a release, which are under disclosure control."
            if internal
            else f"Cells with fewer than {settings.suppression_threshold} applicable answers, or "
            f"fewer than {settings.min_outcome_count} cases judged sufficient or not "
            "sufficient, are suppressed and shown as [c], together with the cells that would "
            "reveal them (see note 2)."
        ),
        "Shorthand: [c] suppressed to protect confidentiality; [u] low reliability (a level on "
        "2 inspections or fewer, shown without an interval); [x] not available; "
        "[z] not applicable.",
        "See the Contents sheet for the list of tables and the Notes sheet for methods.",
        *_publication_lines(synthetic),
    ]
    for i, line in enumerate(lines, start=2):
        cover.write_string(i, 0, line, formats.wrap)
        cover.set_row(i, _wrapped_height(line, 110))


def _publication_lines(synthetic: bool) -> list[str]:
    """Publication date and status, source, organisation, contact, statistician and next update,
    from the publication settings (reference/publication.csv), worded as the bulletin words them."""
    meta = refdata.publication()
    kind = (
        "Synthetic sample: illustrative only, not official statistics"
        if synthetic
        else "Research analysis of inspection case data; not official statistics"
    )
    return [
        f"Status: {meta.date_line()}",
        f"Publication date: {meta.publication_date or 'not yet set'}",
        f"Data: {kind}",
        f"Source: {meta.source(synthetic)}; {meta.published_source}",
        f"Published by: {meta.organisation}",
        f"Responsible statistician: {meta.statistician}",
        f"Contact: {meta.contact}",
        f"Next update: {meta.next_update_line()}",
        meta.licence,
    ]


def _contents(wb: xlsxwriter.Workbook, formats: _Formats, sheets: list[TableSheet]) -> None:
    contents = wb.add_worksheet("Contents")
    _print_setup(contents, 3)
    contents.write_string(0, 0, "Contents", formats.heading)
    contents.write_string(1, 0, "This worksheet contains one table listing every sheet.")
    contents.write_row(3, 0, ["Sheet", "Table title", "Rows (number)"], formats.bold)
    for i, sheet in enumerate(sheets, start=4):
        contents.write_url(i, 0, f"internal:'{sheet.sheet}'!A1", formats.link, string=sheet.sheet)
        contents.write_string(i, 1, sheet.title)
        contents.write_number(i, 2, sheet.frame.height)
    contents.set_column(0, 0, 32)
    contents.set_column(1, 1, 90)
    contents.set_column(2, 2, 14)


def _notes(wb: xlsxwriter.Workbook, formats: _Formats, notes: list[str]) -> None:
    notes_ws = wb.add_worksheet("Notes")
    _print_setup(notes_ws, 3)
    notes_ws.write_string(0, 0, "Notes", formats.heading)
    notes_ws.write_string(1, 0, "This worksheet contains one table of notes.")
    notes_ws.write_row(3, 0, ["Note number", "Note text"], formats.bold)
    for i, note in enumerate((readable(n) for n in notes), start=4):
        notes_ws.write_string(i, 0, f"[note {i - 3}]")
        notes_ws.write_string(i, 1, note, formats.wrap)
        notes_ws.set_row(i, _wrapped_height(note, 120))
    notes_ws.set_column(0, 0, 14)
    notes_ws.set_column(1, 1, 120)


CODE_TOKEN = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?:_\*)?")


def readable(text: str) -> str:
    """A note as a reader sees it: column code names replaced by their headers (without the
    unit), and no reference to the project's own files."""

    def header(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.endswith("_*"):
            return f"the '{labels.workbook_header(token[:-2]).split(' (')[0]}' columns"
        return f"'{labels.workbook_header(token).split(' (')[0]}'"

    text = re.sub(r"\s*\(?\b(?:data|pipeline|docs)/[\w/.-]+\)?", "", text)
    return CODE_TOKEN.sub(header, text)


def _table(wb: xlsxwriter.Workbook, formats: _Formats, sheet: TableSheet) -> None:
    ws = wb.add_worksheet(sheet.sheet)
    ws.write_string(0, 0, sheet.title, formats.heading)
    ws.write_string(1, 0, readable(sheet.description))
    ws.write_string(
        2,
        0,
        "This worksheet contains one table. Shorthand: [c] suppressed, [u] low reliability "
        "(level only), [x] not available, [z] not applicable.",
    )
    frame = escape_formulas(for_workbook(sheet.frame))
    columns = frame.columns
    first = 4
    suppressed = (
        frame["suppressed"].fill_null(False).to_list()
        if "suppressed" in columns
        else [False] * frame.height
    )
    _write_cells(ws, formats, first + 1, frame, suppressed)
    if frame.height == 0:  # a table needs a data row: say there is nothing, never leave it blank
        for c in range(len(columns)):
            ws.write_string(first + 1, c, "[x]")
    ws.add_table(
        first,
        0,
        first + max(frame.height, 1),
        len(columns) - 1,
        {
            "name": "table_" + re.sub(r"\W+", "_", sheet.table or sheet.sheet).lower(),
            "columns": [
                {"header": header_label(c), "header_format": formats.header} for c in columns
            ],
            "style": "Table Style Light 1",
            "autofilter": False,
        },
    )
    lines, total = 1, 0.0
    for c, column in enumerate(columns):  # headers wrap: columns as wide as their values need
        width = _width(frame.get_column(column), header_label(column))
        ws.set_column(c, c, width)
        total += width
        lines = max(lines, _header_lines(header_label(column), int(width) - 1))
    ws.set_row(first, 15.0 * lines + 3)
    ws.freeze_panes(first + 1, 0)
    _print_setup(ws, first, total)


def _width(values: pl.Series, header: str) -> float:
    """A column's width in characters: its longest value (up to 40), at least its header's
    longest word, and never below 8."""
    text = values.cast(pl.String).drop_nulls().str.len_chars()
    longest = int(text.max() or 0) if text.len() else 0  # type: ignore[arg-type]
    longest_word = max(len(word) for word in header.split())
    return float(min(40, max(8, longest + 2, longest_word + 2)))


def _header_lines(header: str, width: int = 14) -> int:
    return max(1, math.ceil(len(header) / width))


PRINT_WIDTH_CHARS = 150
"""Column width (in characters) that an A4 landscape page holds at full size: a wider table is
printed across several pages rather than shrunk (27 columns on one page printed at about 4 pt)."""


def _print_setup(ws: Worksheet, header_row: int | None = None, width: float = 0.0) -> None:
    """A4 landscape, the header row repeated on every page; as many pages wide as the columns
    need at a readable size, with the first column repeated on each."""
    ws.set_paper(9)
    ws.set_landscape()
    pages = max(1, math.ceil(width / PRINT_WIDTH_CHARS))
    ws.fit_to_pages(pages, 0)
    if pages > 1:
        ws.repeat_columns(0, 0)
    if header_row is not None:
        ws.repeat_rows(header_row)


def _write_cells(
    ws: Worksheet, formats: _Formats, top: int, frame: pl.DataFrame, suppressed: list[bool]
) -> None:
    """Every cell, row by row (the order fixes the shared-strings table, so the file stays
    byte-identical), with each column's writer chosen once from its type: per-cell type
    dispatch was most of the workbook's time. Missing values become [c] (suppressed), [u] (a
    level only: no interval on 2 inspections or fewer) or [x]."""
    writers = [_typed_writer(ws, formats, frame.get_column(c)) for c in frame.columns]
    levels_only = _flags(frame, "levels_only")
    interval = [c in LEVELS_ONLY_COLUMNS for c in frame.columns]
    for r in range(frame.height):
        row = top + r
        for c, (write, extra, cells) in enumerate(writers):
            value = cells[r]
            if _missing(value):
                shorthand = (
                    "[c]" if suppressed[r] else "[u]" if levels_only[r] and interval[c] else "[x]"
                )
                ws.write_string(row, c, shorthand)
            else:
                write(row, c, value, *extra)


LEVELS_ONLY_COLUMNS = frozenset(
    {"ci_low", "ci_high", "ci_cluster_low", "ci_cluster_high", "interval_basis"}
)
"""The cells a level-only row leaves empty for want of inspections: written [u], not [x]."""


def _flags(frame: pl.DataFrame, column: str) -> list[bool]:
    """A boolean column's values as a list (all False where the table has no such column)."""
    if column not in frame.columns:
        return [False] * frame.height
    return [value is True for value in frame.get_column(column).to_list()]


def _typed_writer(
    ws: Worksheet, formats: _Formats, values: pl.Series
) -> tuple[Any, tuple[Format, ...], list[Any]]:
    """(writer, format arguments, values) for one column, its number format chosen by the
    column's kind; `_write_value` for types that need the general path (dates, nested or mixed
    values). A text column mixing whole numbers with other text (years and financial years in
    `period`) has its whole numbers written as numbers, cell by cell."""
    dtype = values.dtype
    kind = labels.column_kind(values.name)
    if dtype == pl.Boolean:
        return ws.write_string, (), values.replace_strict({True: "Yes", False: "No"}).to_list()
    if dtype.is_numeric():
        default = formats.integer if dtype.is_integer() else formats.number
        return ws.write_number, (formats.kinds.get(kind, default),), values.to_list()
    if dtype == pl.String:
        if not values.str.contains(WHOLE_NUMBER).any():
            return ws.write_string, (), values.to_list()
        return _text_or_number(ws, formats.kinds["year"]), (), values.to_list()

    def general(row: int, col: int, value: object) -> None:
        _write_value(ws, formats, row, col, value)

    return general, (), values.to_list()


def _text_or_number(ws: Worksheet, number_format: Format) -> Any:
    whole = re.compile(WHOLE_NUMBER)

    def write(row: int, col: int, value: str) -> None:
        if whole.match(value):
            ws.write_number(row, col, int(value), number_format)
        else:
            ws.write_string(row, col, value)

    return write


def _write_value(ws: Worksheet, formats: _Formats, row: int, col: int, value: object) -> None:
    if isinstance(value, bool):
        ws.write_string(row, col, "Yes" if value else "No")
    elif isinstance(value, int):
        ws.write_number(row, col, value, formats.integer)
    elif isinstance(value, float):
        ws.write_number(row, col, value, formats.number)
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, dt.datetime.combine(value, dt.time()), formats.date)
    else:
        ws.write_string(row, col, str(value))


def for_workbook(frame: pl.DataFrame) -> pl.DataFrame:
    """What the workbook shows (full precision stays in Parquet and DuckDB): codes as labels,
    percentages and percentage points to 1 decimal place, other measures to 4 significant
    figures. Text that is a whole number (a year) is written as a number cell by cell
    (`_typed_writer`), so a code column of digits (framework '2018') is labelled first."""
    columns = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if dtype.is_float():
            if labels.workbook_unit(name) in ("%", "percentage points"):
                column = column.round(1)
            else:
                column = column.round_sig_figs(4)
        elif dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
            column = column.cast(pl.String)
            if name not in UNLABELLED:
                values = frame.get_column(name).cast(pl.String).drop_nulls().unique()
                shown = {v: labels.label_value(name, v) for v in values}
                column = column.replace({v: t for v, t in shown.items() if t != v})
        columns.append(column.alias(name))
    return frame.select(columns)


UNLABELLED = frozenset({"comparable_id", "inspection_id", "unit", "cohort"})
"""Code columns kept as codes: identifiers a reader joins or filters on (their labels sit in
neighbouring columns)."""
