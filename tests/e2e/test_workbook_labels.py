"""No workbook cell holds a code where a label exists: code lists (codes.csv), the project's
per-column vocabularies (value_labels.csv), column names used as values (a subgroup's
'age_band'), rationale themes and their compound measures, and no source file paths. The codes
are read here from the reference CSVs with the csv module, not through the labelling code."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from pipeline.config import REFERENCE_DIR
from pipeline.outputs.publication import WORKBOOK_NAME

KEPT_AS_CODES = {"Cohort"}
"""Identifier columns a reader filters on, kept as codes with their label beside them."""


def _column(name: str, column: str) -> set[str]:
    with (REFERENCE_DIR / name).open(encoding="utf-8", newline="") as f:
        return {row[column] for row in csv.DictReader(f)}


def _codes() -> set[str]:
    codes = _column("codes.csv", "code") | _column("value_labels.csv", "code")
    codes |= _column("contract_columns.csv", "column") | _column("rationale_themes.csv", "theme")
    codes |= {"publication_year", "programme", "calendar_year", "financial_year", "half_year"}
    return {c for c in codes if not c.isdigit()}


@pytest.fixture(scope="module")
def cells(sample_release: Path) -> list[tuple[str, str, str]]:
    book = openpyxl.load_workbook(sample_release / "tables" / WORKBOOK_NAME, read_only=True)
    found = []
    for ws in book.worksheets[3:]:
        rows = list(ws.iter_rows(min_row=5, values_only=True))
        header = [str(h) for h in rows[0]]
        for row in rows[1:]:
            found += [
                (ws.title, h, v) for h, v in zip(header, row, strict=True) if isinstance(v, str)
            ]
    return found


def test_no_cell_holds_a_code_where_a_label_exists(cells: list[tuple[str, str, str]]) -> None:
    codes = _codes()
    assert {"very_high", "age_band", "practitioner_grade", "after_by_supervision_start"} <= codes
    left = {(t, h, v) for t, h, v in cells if v in codes and h not in KEPT_AS_CODES}
    assert left == set(), sorted(left)[:20]


def test_no_compound_codes_or_file_paths(cells: list[tuple[str, str, str]]) -> None:
    left = {(t, h, v) for t, h, v in cells if "|" in v or "sources/" in v or v.endswith(".txt")}
    assert left == set(), sorted(left)[:20]


def test_labels_replace_the_codes_named_in_the_issue(cells: list[tuple[str, str, str]]) -> None:
    values = {v for _, _, v in cells}
    assert {
        "Age band",
        "Risk of serious harm",
        "Practitioner grade",
        "Inspection programme",
    } <= values
    assert (
        "Children's services and safeguarding enquiries: Keeping other people safe: "
        "Judged not sufficient" in values
    )
