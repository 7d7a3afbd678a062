"""Workbook sheet names: short readable names declared once in the table registry, never the
table codes; at most 31 characters (Excel's limit) and unique."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from pipeline.outputs.publication import WORKBOOK_NAME, sheet_name
from pipeline.tables import registry


def test_every_table_has_a_readable_unique_sheet_name() -> None:
    names = [sheet_name(t.name) for t in registry.TABLES]
    assert len(set(names)) == len(names)
    assert all(len(n) <= 31 for n in names)
    assert [t.name for t in registry.TABLES if sheet_name(t.name) == t.name] == []
    assert sheet_name("kq_trend") == "Key questions over time"
    assert sheet_name("published_ratings") == "Published ratings (real data)"


def test_the_release_workbook_uses_the_readable_names(sample_release: Path) -> None:
    book = openpyxl.load_workbook(sample_release / "tables" / WORKBOOK_NAME, read_only=True)
    tables = book.sheetnames[3:]
    assert "Key questions over time" in tables
    assert "Segmented regression" in tables
    assert not {t.name for t in registry.TABLES} & set(book.sheetnames)
    contents = list(book["Contents"].iter_rows(min_row=5, values_only=True))
    assert [row[0] for row in contents] == tables
