"""Publication texts quote the rules that were applied, generated from reference data."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import polars as pl
import pytest

from pipeline import refdata
from pipeline.analysis import tables
from pipeline.config import Settings
from pipeline.outputs.publication import WORKBOOK_NAME, notes, write_publication


def test_notes_state_the_settings_used() -> None:
    chosen = Settings(
        suppression_threshold=25, confidence_level=0.9, min_outcome_count=7, min_feasible_range=3
    )
    text = " ".join(notes(chosen))
    assert "fewer than 25 applicable answers" in text
    assert "fewer than 7 cases were judged" in text and "less than 3 cases" in text
    assert "90% intervals" in text
    assert "fewer than 10" not in text and "95% intervals" not in text


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
    assert "85% or more Outstanding" in text and "80%" not in text
    assert "not verified" in text


def test_a_threshold_passed_to_build_tables_reaches_the_workbook(
    sample_run: Path, tmp_path: Path
) -> None:
    frames = {
        n: pl.read_parquet(sample_run / f"{n}.parquet")
        for n in ("cases", "answers", "inspections", "published")
    }
    publication = tables.build_tables(
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
