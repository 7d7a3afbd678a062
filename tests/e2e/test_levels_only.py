"""Cells on 2 inspections or fewer are levels only, marked [u] everywhere they are shown: the
release's tables, the workbook, chart data, the bulletin's tables and its charts."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import polars as pl

from pipeline import refdata
from pipeline.bulletins import bulletin, document

INTERVALS = ("ci_low", "ci_high", "ci_cluster_low", "ci_cluster_high")


def test_every_cell_on_two_inspections_or_fewer_is_a_level_only(sample_release: Path) -> None:
    limit = refdata.settings().levels_only_max_inspections
    seen = 0
    for path in sorted((sample_release / "tables").glob("*.parquet")):
        table = pl.read_parquet(path)
        if "levels_only" not in table.columns:
            continue
        visible = table.filter(~pl.col("suppressed"))
        few = visible.filter(pl.col("n_inspections").cast(pl.Int64) <= limit)
        assert few["levels_only"].all(), path.name
        assert not visible.filter(pl.col("n_inspections").cast(pl.Int64) > limit)[
            "levels_only"
        ].any()
        for column in INTERVALS:
            assert few[column].null_count() == few.height, (path.name, column)
        seen += few.height
    assert seen > 100, "the sample has many cells on one or two inspections"


def test_the_workbook_marks_their_intervals_u(sample_release: Path) -> None:
    trend = pl.read_parquet(sample_release / "tables" / "kq_trend.parquet")
    expected = trend.filter(pl.col("levels_only").fill_null(False)).height
    book = openpyxl.load_workbook(next(sample_release.rglob("*.xlsx")), read_only=True)
    sheet = next(ws for ws in book.worksheets if ws.title.lower().startswith("key question"))
    rows = list(sheet.iter_rows(values_only=True))
    header_at = next(i for i, row in enumerate(rows) if row and "Inspections (number)" in row)
    header = rows[header_at]
    flag = header.index("Level only, no interval [u]")
    limits = [header.index(c) for c in ("Lower limit (%)", "Upper limit (%)")]
    why = header.index("Why withheld")
    marked = [row for row in rows[header_at + 1 :] if row[flag] == "Yes"]
    assert len(marked) == expected
    assert all(row[i] == "[u]" for row in marked for i in limits)
    assert all(row[why] == "[x]" for row in marked)  # [u] only where the interval would be


def test_chart_data_tables_and_charts_show_the_marker(sample_release: Path, tmp_path: Path) -> None:
    report = bulletin.Bulletin.load(sample_release, "Wales", output_dir=tmp_path)
    document.write(report, tmp_path)
    trend = report.chart("safety_trend").data
    few = trend.filter(pl.col("levels_only"))
    assert few.height > 0, "Wales has years on one or two inspections"
    assert few["interval_low"].null_count() == few.height
    html = (tmp_path / "bulletin.html").read_text()
    cells = re.findall(r"<td[^>]*>\s*\[u\]\s*</td>", html)
    assert len(cells) >= 2 * few.height  # both limits of every such row in its table
    assert "[u]" in (tmp_path / "safety_trend.svg").read_text()  # the mark beside the point
    assert "Figures marked [u]" in html


def test_a_suppressed_row_hides_every_number_and_flag(sample_release: Path) -> None:
    """Whatever columns a protected table gains (the levels-only flag, the interval basis), a
    suppressed row shows none of its numbers or flags: only its keys and labels."""
    from pipeline.tables import registry

    kept = {"synthetic", "suppressed", "publication_year", "test_family_size"}  # not case data
    for path in sorted((sample_release / "tables").glob("*.parquet")):
        try:
            spec = registry.spec(path.stem)
        except registry.UndeclaredTable:
            continue
        table = pl.read_parquet(path)
        if spec.protection != registry.Protection.SUPPRESSED or "suppressed" not in table.columns:
            continue
        hidden = table.filter(pl.col("suppressed"))
        for name, dtype in hidden.schema.items():
            if name in kept or name in spec.keys or not (dtype.is_numeric() or dtype == pl.Boolean):
                continue
            assert hidden[name].null_count() == hidden.height, (path.stem, name)
        if "interval_basis" in hidden.columns:
            assert hidden["interval_basis"].null_count() == hidden.height, path.stem
