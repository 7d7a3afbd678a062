"""Publication texts quote the rules that were applied, generated from reference data."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import polars as pl
import pytest

from pipeline import refdata
from pipeline.config import Settings
from pipeline.outputs.publication import WORKBOOK_NAME, notes, sheet_name, write_publication
from tests.helpers import released


def test_notes_state_the_settings_used() -> None:
    chosen = Settings(
        suppression_threshold=25, confidence_level=0.9, min_outcome_count=7, min_feasible_range=3
    )
    text = " ".join(notes(chosen))
    assert "fewer than 25 applicable answers" in text
    assert "fewer than 7 cases were judged" in text
    assert "less than 3 cases" in text
    assert "90% intervals" in text
    assert "fewer than 10" not in text
    assert "95% intervals" not in text


def test_rating_rule_text_follows_the_bands_file(monkeypatch: pytest.MonkeyPatch) -> None:
    bands = refdata.rating_bands()
    assert "80% or more Outstanding" in refdata.rating_rule_text("2023")
    edited = bands.with_columns(
        pl.when(pl.col("rating") == "Outstanding")
        .then(pl.lit(85.0))
        .otherwise(pl.col("min_pct"))
        .alias("min_pct")
    )
    monkeypatch.setattr(refdata, "rating_bands", lambda: edited)
    text = refdata.rating_rule_text("2023")
    assert "85% or more Outstanding" in text
    assert "80%" not in text
    assert "not verified" in text


def test_a_threshold_passed_to_build_tables_reaches_the_workbook(
    sample_run: Path, tmp_path: Path
) -> None:
    frames = {
        n: pl.read_parquet(sample_run / f"{n}.parquet")
        for n in ("cases", "answers", "inspections", "published")
    }
    publication = released(
        frames["cases"], frames["answers"], frames["inspections"], frames["published"], threshold=20
    )
    assert publication.settings.suppression_threshold == 20
    write_publication(publication, tmp_path)
    book = openpyxl.load_workbook(tmp_path / WORKBOOK_NAME, read_only=True)
    texts = [
        str(cell)
        for name in ("Cover", "Notes")
        for row in book[name].iter_rows(values_only=True)
        for cell in row
        if cell
    ]
    assert any("fewer than 20 applicable answers" in t for t in texts)
    assert not any("fewer than 10 applicable answers" in t for t in texts)


def test_the_workbook_follows_the_spreadsheet_guidance(sample_release: Path) -> None:
    """Each rule of 'Releasing statistics in spreadsheets' the workbook can be checked on."""
    import re

    book = openpyxl.load_workbook(sample_release / "tables" / WORKBOOK_NAME)
    cover = [str(c) for row in book["Cover"].iter_rows(values_only=True) for c in row if c]
    lines = ("Publication date:", "Status:", "Source:", "Contact:", "Next update:")
    for line in (*lines, "Published by:", "Responsible statistician:"):
        assert any(t.startswith(line) for t in cover), line
    settings = refdata.publication()
    assert f"Status: {settings.date_line()}" in cover
    assert any(settings.contact_email in t for t in cover)
    assert not any("issue tracker" in t for t in cover)
    if settings.draft:
        assert "Status: Draft: not for publication" in cover
    code_header = re.compile(r"^[a-z]+(?:_[a-z0-9]+)+")
    texts = []
    for ws in book.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_setup.paperSize in (9, "9"), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert not ws.merged_cells.ranges, ws.title
        if ws.title in ("Cover", "Contents", "Notes"):
            texts += [str(c) for row in ws.iter_rows(values_only=True) for c in row if c]
            continue
        assert ws.print_title_rows, f"{ws.title}: header row repeated on every page"
        headers = [c.value for c in ws[5]]
        for header in headers:
            assert not code_header.match(str(header)), f"{ws.title}: code header {header}"
        for row in ws.iter_rows(min_row=6, values_only=True):
            for value in row:
                assert value not in ("true", "false"), ws.title
                if isinstance(value, float):
                    assert abs(value * 10_000 - round(value * 10_000)) < 1e-6 or abs(value) < 1
        texts += [str(ws["B2"].value or ""), str(ws["A2"].value or "")]
    trend = book[sheet_name("kq_trend")]
    header = [c.value for c in trend[5]]
    assert "Sufficient (%)" in header
    assert "Area" in header
    rows = list(trend.iter_rows(min_row=6, values_only=True))
    pct = header.index("Sufficient (%)")
    shown = [r[pct] for r in rows if isinstance(r[pct], float)]
    assert shown, "percentages shown"
    assert all(round(v, 1) == v for v in shown), "percentages to 1 decimal place"
    periods = {r[header.index("Period")] for r in rows}
    assert "CRC and NPS inspections 2018-2021" in periods
    assert "crc_nps_2018" not in periods
    for text in texts:
        assert not re.search(r"\.md\b|data/raw|pipeline/|\.csv\b", text), text


def test_workbook_headers_are_plain_english_with_units() -> None:
    from pipeline.outputs.labels import workbook_header

    assert workbook_header("pct") == "Sufficient (%)"
    assert workbook_header("n_yes_pre") == "Cases judged sufficient, before unification (number)"
    assert workbook_header("ci_cluster_low") == "Lower limit (%)"
    assert workbook_header("adjusted_diff_pp") == "Change allowing for case mix (percentage points)"
    assert workbook_header("step_pp_ci_low") == "Step lower limit (percentage points)"


def test_labels_are_chosen_by_column_so_years_stay_years(sample_release: Path) -> None:
    """'2018' is a framework code only in the framework column: a calendar year in `period`
    must stay a year in the workbook and in a reader's table."""
    from pipeline.outputs import labels
    from pipeline.outputs.workbook import for_workbook

    trend = pl.read_parquet(sample_release / "tables" / "kq_trend.parquet")
    shown = for_workbook(trend)
    years = shown.filter(pl.col("period_type") == "Calendar year")["period"].unique().to_list()
    assert years
    assert all(str(y).isdigit() and len(str(y)) == 4 for y in years)
    reader = labels.for_readers(
        trend.select("period_type", "period").with_columns(framework=pl.lit("2018"))
    )
    periods = set(reader["Period"].to_list())
    assert {"2018", "2021", "2023"} <= periods
    assert "CRC and NPS standards 2018" not in periods
    assert "CRC and NPS standards 2018" in set(reader["Framework"].to_list())


def test_no_workbook_cell_holds_a_code_where_a_label_exists(sample_release: Path) -> None:
    """Every column with a code list (codes.csv, or a breakdown's variables) shows labels."""
    from pipeline.domain import PRACTITIONER, SUBGROUPS
    from pipeline.outputs.workbook import for_workbook

    codes = refdata._read("codes.csv")
    lists = {c: set(codes.filter(pl.col("column") == c)["code"]) for c in codes["column"]}
    lists["subgroup_value"] = set().union(*(lists.get(v, set()) for v in SUBGROUPS))
    lists["level"] = set().union(*(lists.get(v, set()) for v in PRACTITIONER))
    checked = 0
    for path in sorted((sample_release / "tables").glob("*.parquet")):
        shown = for_workbook(pl.read_parquet(path))
        for column in set(shown.columns) & set(lists):
            values = set(shown[column].cast(pl.String).drop_nulls().to_list())
            left = {v for v in values & lists[column] if not v.isdigit()}
            assert not left, f"{path.stem}.{column}: {sorted(left)}"
            checked += 1
    assert checked >= 5
