"""Derived fields: era, programme, periods (UK financial year April-March)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipeline.stages import derive


@pytest.mark.parametrize(
    ("date", "fy"),
    [
        (dt.date(2021, 3, 31), "2020-21"),
        (dt.date(2021, 4, 1), "2021-22"),
        (dt.date(2021, 12, 31), "2021-22"),
        (dt.date(1999, 6, 1), "1999-00"),
        (dt.date(2009, 1, 15), "2008-09"),
    ],
)
def test_financial_year(date: dt.date, fy: str) -> None:
    assert pl.select(derive.financial_year(pl.lit(date))).item() == fy


def _derive(**row: object) -> dict:
    base = {
        "fieldwork_start": dt.date(2021, 6, 25),
        "publication_date": None,
        "inspection_type": "crc",
        "framework": "2018",
    }
    base.update(row)
    frame = pl.DataFrame([base], schema_overrides={"publication_date": pl.Date})
    return derive.derive(frame.lazy()).collect().row(0, named=True)


def test_era_turns_on_unification_day() -> None:
    assert _derive(fieldwork_start=dt.date(2021, 6, 25))["era"] == "pre_unification"
    assert _derive(fieldwork_start=dt.date(2021, 6, 26))["era"] == "post_unification"


def test_periods() -> None:
    row = _derive(fieldwork_start=dt.date(2022, 7, 1), publication_date=dt.date(2023, 1, 5))
    assert (
        row["calendar_year"],
        row["financial_year"],
        row["half_year"],
        row["quarter"],
        row["publication_year"],
    ) == (2022, "2022-23", "2022-H2", "2022-Q3", 2023)
    assert _derive(fieldwork_start=dt.date(2022, 6, 30))["half_year"] == "2022-H1"


@pytest.mark.parametrize(
    ("inspection_type", "framework", "programme"),
    [
        ("crc", "2018", "crc_nps_2018"),
        ("nps", "2018", "crc_nps_2018"),
        ("pdu", "2021", "pdu_2021"),
        ("pdu", "2023", "pdu_regional_2023"),
        ("regional", "2023", "pdu_regional_2023"),
        ("national", "2023", "national_2024"),
        ("dipp", "dipp2025", "dipp_2025"),
        ("pdu", "2018", "unclassified"),
    ],
)
def test_programme(inspection_type: str, framework: str, programme: str) -> None:
    assert _derive(inspection_type=inspection_type, framework=framework)["programme"] == programme
