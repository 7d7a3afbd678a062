"""The release workbook against 'Releasing statistics in spreadsheets': numbers stored as
numbers, one number format per column kind, and units only where a column has one. Each
column's kind is read here from its header text (what a reader sees), not from the code that
chose the format."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest

from pipeline.outputs.publication import WORKBOOK_NAME

P_VALUE = '[<0.001]"<0.001";0.000'
NUMBER_TEXT = re.compile(r"^\s*[+-]?(\d[\d,]*\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
NO_UNIT = ("p-value", "p value", "degrees of freedom", "odds ratio", "correlation", "z ", "design")


def _expected_format(header: str) -> str | None:
    """The number format a column's header says it needs (None: not checked here)."""
    text = header.lower()
    if "p-value" in text or " p value" in text:
        return P_VALUE
    if "degrees of freedom" in text:
        return "#,##0"
    if "correlation" in text or "odds ratio" in text or text.startswith(("z ", "design effect")):
        return "0.00"
    if text.endswith(("(%)", "(percentage points)")):
        return "0.0"
    if text.endswith("(number)"):
        return "#,##0"
    return None


@pytest.fixture(scope="module")
def table_sheets(sample_release: Path) -> list[tuple[str, list[str], list[list[object]]]]:
    book = openpyxl.load_workbook(sample_release / "tables" / WORKBOOK_NAME)
    sheets = []
    for ws in book.worksheets[3:]:  # after Cover, Contents and Notes
        rows = list(ws.iter_rows(min_row=5))
        header = [str(c.value) for c in rows[0]]
        sheets.append((ws.title, header, [list(r) for r in rows[1:]]))
    return sheets


def test_no_cell_holds_a_number_as_text(table_sheets: list) -> None:
    as_text = [
        (title, header[i], cell.value)
        for title, header, rows in table_sheets
        for row in rows
        for i, cell in enumerate(row)
        if isinstance(cell.value, str) and NUMBER_TEXT.match(cell.value)
    ]
    assert as_text == [], as_text[:10]


def test_each_column_kind_has_its_number_format(table_sheets: list) -> None:
    checked: dict[str, int] = {}
    for title, header, rows in table_sheets:
        for i, name in enumerate(header):
            expected = _expected_format(name)
            numbers = [r[i] for r in rows if isinstance(r[i].value, (int, float))]
            if expected is None or not numbers:
                continue
            formats = {c.number_format for c in numbers}
            assert formats == {expected}, (title, name, formats)
            checked[expected] = checked.get(expected, 0) + 1
    assert set(checked) == {P_VALUE, "#,##0", "0.00", "0.0"}, checked


def test_statistics_without_a_unit_carry_none(table_sheets: list) -> None:
    headers = {h for _, header, _ in table_sheets for h in header}
    unitless = [h for h in headers if h.lower().startswith(NO_UNIT) or "p-value" in h.lower()]
    assert len(unitless) >= 8, unitless
    assert [h for h in unitless if "(" in h and "percentage" in h] == []


def test_years_in_a_mixed_period_column_are_numbers(table_sheets: list) -> None:
    years, other = [], set()
    for _, header, rows in table_sheets:
        if "Period" not in header or "Period type" not in header:
            continue
        period, kind = header.index("Period"), header.index("Period type")
        years += [r[period] for r in rows if r[kind].value == "Calendar year"]
        other |= {r[period].value for r in rows if r[kind].value == "Financial year"}
    assert years
    assert all(isinstance(c.value, int) and c.number_format == "0" for c in years)
    assert 2019 in {c.value for c in years}
    assert "2021-22" in other


def test_headers_of_unitless_statistics() -> None:
    from pipeline.outputs.labels import workbook_header

    assert workbook_header("step_pp_p_value") == "Step p-value"
    assert workbook_header("diff_clustered_df") == "Change, clustered, degrees of freedom"
    assert workbook_header("adjusted_odds_ratio") == "Odds ratio allowing for case mix"
    assert workbook_header("icc") == "Intra-inspection correlation"
    assert workbook_header("n_effective") == "Effective sample size (number)"
    assert workbook_header("pct_pre") == "Sufficient, before unification (%)"


def test_a_wide_sheet_prints_across_pages_at_a_readable_size(sample_release: Path) -> None:
    """The 27-column key-question sheet printed fitted to one page at about 4 pt: it now spans
    as many landscape pages as its columns need, the first column repeated on each."""
    book = openpyxl.load_workbook(sample_release / "tables" / WORKBOOK_NAME)
    wide = book["Key questions over time"]
    assert wide.page_setup.fitToWidth >= 3
    assert wide.print_title_cols == "$A:$A"
    assert book["Contents"].page_setup.fitToWidth in (None, 1)  # 1 is the default, not written
