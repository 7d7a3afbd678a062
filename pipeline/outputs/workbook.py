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
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from pipeline import refdata
from pipeline.config import Settings
from pipeline.stages.store import escape_formulas

FIXED_TIMESTAMP = dt.datetime(2021, 6, 26)


@dataclass(frozen=True)
class TableSheet:
    """One table to publish: sheet name (<= 31 chars), title, description and the frame."""

    sheet: str
    title: str
    description: str
    frame: pl.DataFrame


def header_label(column: str) -> str:
    """Column name with its unit, as the guidance asks ('pct (%)')."""
    if (
        column.endswith("_pp")
        or column.startswith("diff_ci")
        or column.startswith("adjusted_ci")
        or column == "adjusted_diff_pp"
    ):
        return f"{column} (percentage points)"
    if (
        column.startswith(("pct", "ci_", "share_pct"))
        or column.endswith("_pct")
        or column.startswith("pct_")
    ):
        return f"{column} (%)"
    if column.startswith("n_") or column in ("n_inspections",):
        return f"{column} (number)"
    return column


def _wrapped_height(text: str, width_chars: int) -> float:
    """Row height for wrapped text: spreadsheet programs do not always grow rows themselves."""
    lines = max(1, math.ceil(len(text) / (width_chars * 0.95)))
    return 15.0 * lines + 3


def _cell(value: object, suppressed: bool) -> object:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "[c]" if suppressed else "[x]"
    return value


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

    @classmethod
    def of(cls, wb: xlsxwriter.Workbook) -> _Formats:
        return cls(
            bold=wb.add_format({"bold": True}),
            heading=wb.add_format({"bold": True, "font_size": 14}),
            wrap=wb.add_format({"text_wrap": True, "valign": "top"}),
            number=wb.add_format({"num_format": "#,##0.0##"}),
            integer=wb.add_format({"num_format": "#,##0"}),
            date=wb.add_format({"num_format": "yyyy-mm-dd"}),
            link=wb.add_format({"font_color": "#1F4E79", "underline": 1}),
        )


def write_workbook(
    path: Path,
    sheets: list[TableSheet],
    title: str,
    synthetic: bool,
    notes: list[str],
    settings: Settings | None = None,
) -> None:
    """Write the workbook; `notes` are numbered in the Notes sheet."""
    settings = settings or refdata.settings()
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties(
        {"title": title, "created": FIXED_TIMESTAMP, "author": "probation inspection analytics"}
    )
    formats = _Formats.of(wb)
    _cover(wb, formats, title, synthetic, settings)
    _contents(wb, formats, sheets)
    _notes(wb, formats, notes)
    for sheet in sheets:
        _table(wb, formats, sheet)
    wb.close()


def _cover(
    wb: xlsxwriter.Workbook, formats: _Formats, title: str, synthetic: bool, settings: Settings
) -> None:
    cover = wb.add_worksheet("Cover")
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
        f"Cells with fewer than {settings.suppression_threshold} applicable answers, or fewer "
        f"than {settings.min_outcome_count} cases judged sufficient or not sufficient, are "
        "suppressed and shown as [c], together with the cells that would reveal them (see "
        "note 2).",
        "Shorthand: [c] suppressed to protect confidentiality; [x] not available; "
        "[z] not applicable.",
        "See the Contents sheet for the list of tables and the Notes sheet for methods.",
    ]
    for i, line in enumerate(lines, start=2):
        cover.write_string(i, 0, line, formats.wrap)
        cover.set_row(i, _wrapped_height(line, 110))


def _contents(wb: xlsxwriter.Workbook, formats: _Formats, sheets: list[TableSheet]) -> None:
    contents = wb.add_worksheet("Contents")
    contents.write_string(0, 0, "Contents", formats.heading)
    contents.write_string(1, 0, "This worksheet contains one table listing every sheet.")
    contents.write_row(3, 0, ["Sheet", "Table title", "Rows (number)"], formats.bold)
    for i, sheet in enumerate(sheets, start=4):
        contents.write_url(i, 0, f"internal:'{sheet.sheet}'!A1", formats.link, string=sheet.sheet)
        contents.write_string(i, 1, sheet.title)
        contents.write_number(i, 2, sheet.frame.height)
    contents.set_column(0, 0, 24)
    contents.set_column(1, 1, 90)
    contents.set_column(2, 2, 14)


def _notes(wb: xlsxwriter.Workbook, formats: _Formats, notes: list[str]) -> None:
    notes_ws = wb.add_worksheet("Notes")
    notes_ws.write_string(0, 0, "Notes", formats.heading)
    notes_ws.write_string(1, 0, "This worksheet contains one table of notes.")
    notes_ws.write_row(3, 0, ["Note number", "Note text"], formats.bold)
    for i, note in enumerate(notes, start=4):
        notes_ws.write_string(i, 0, f"[note {i - 3}]")
        notes_ws.write_string(i, 1, note, formats.wrap)
        notes_ws.set_row(i, _wrapped_height(note, 120))
    notes_ws.set_column(0, 0, 14)
    notes_ws.set_column(1, 1, 120)


def _table(wb: xlsxwriter.Workbook, formats: _Formats, sheet: TableSheet) -> None:
    ws = wb.add_worksheet(sheet.sheet)
    ws.write_string(0, 0, sheet.title, formats.heading)
    ws.write_string(1, 0, sheet.description)
    ws.write_string(
        2,
        0,
        "This worksheet contains one table. Shorthand: [c] suppressed, "
        "[x] not available, [z] not applicable.",
    )
    frame = escape_formulas(sheet.frame)
    columns = frame.columns
    first = 4
    suppressed = (
        frame["suppressed"].fill_null(False).to_list()
        if "suppressed" in columns
        else [False] * frame.height
    )
    for r, row in enumerate(frame.iter_rows()):
        for c, value in enumerate(row):
            _write_value(ws, formats, first + 1 + r, c, _cell(value, suppressed[r]))
    ws.add_table(
        first,
        0,
        first + max(frame.height, 1),
        len(columns) - 1,
        {
            "name": "table_" + sheet.sheet.lower().replace(" ", "_"),
            "columns": [{"header": header_label(c)} for c in columns],
            "style": "Table Style Light 1",
            "autofilter": False,
        },
    )
    for c, column in enumerate(columns):
        ws.set_column(c, c, max(12, min(40, len(header_label(column)) + 2)))
    ws.freeze_panes(first + 1, 0)


def _write_value(ws: Worksheet, formats: _Formats, row: int, col: int, value: object) -> None:
    if isinstance(value, bool):
        ws.write_string(row, col, "true" if value else "false")
    elif isinstance(value, int):
        ws.write_number(row, col, value, formats.integer)
    elif isinstance(value, float):
        ws.write_number(row, col, value, formats.number)
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, dt.datetime.combine(value, dt.time()), formats.date)
    else:
        ws.write_string(row, col, str(value))
