"""The same-area matching rule on hand-built inspections (tables/same_area.py).

Expected values are worked out by hand from the frames below, not by the code under test."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipeline import refdata
from pipeline.domain import NATIONAL
from pipeline.tables import same_area

D = dt.date


def _inspections() -> pl.DataFrame:
    """Two inspections of one CRC (2018, 2020), one NPS division, two of one PDU (2022,
    2024), one of another PDU, and a CRC inspected only in a region no PDU was inspected in."""
    rows = [
        ("crc-a-1", "crc", "CRC A", D(2018, 9, 1)),
        ("crc-a-2", "crc", "CRC A", D(2020, 2, 1)),
        ("nps-x-1", "nps", "NPS X", D(2019, 5, 1)),
        ("pdu-p-1", "pdu", "PDU P", D(2022, 3, 1)),
        ("pdu-p-2", "pdu", "PDU P", D(2024, 3, 1)),
        ("pdu-q-1", "pdu", "PDU Q", D(2023, 6, 1)),
        ("crc-b-1", "crc", "CRC B", D(2019, 1, 1)),
        ("nat-1", "national", "National", D(2025, 1, 1)),
    ]
    return pl.DataFrame(
        rows, schema=["inspection_id", "inspection_type", "unit_name", "fieldwork_start"],
        orient="row",
    )  # fmt: skip


def _pairs() -> pl.LazyFrame:
    """Region of each inspection's cases: CRC A spans North East and Wales."""
    return pl.LazyFrame(
        {
            "inspection_id": [
                "crc-a-1", "crc-a-2", "crc-a-2", "nps-x-1", "pdu-p-1", "pdu-p-2",
                "pdu-q-1", "crc-b-1", "nat-1",
            ],
            "region": [
                "North East", "North East", "Wales", "North East", "North East",
                "North East", "Wales", "London", "London",
            ],
        }
    )  # fmt: skip


def test_sides_take_each_divisions_last_and_each_pdus_first_inspection() -> None:
    got = same_area.sides(_inspections().lazy(), _pairs()).collect()
    expected = {
        ("crc-a-2", "North East", "last_crc_nps"),
        ("crc-a-2", "Wales", "last_crc_nps"),
        ("nps-x-1", "North East", "last_crc_nps"),
        ("pdu-p-1", "North East", "first_unified"),
        ("pdu-q-1", "Wales", "first_unified"),
    }  # crc-a-1 is not the last; pdu-p-2 is not the first; London has no PDU inspection
    assert set(got.rows()) == expected


def test_matching_names_the_unmatched_region_and_why() -> None:
    table = same_area.matching(_inspections(), _pairs())
    rows = {r["scope"]: r for r in table.iter_rows(named=True)}
    assert set(rows) == {*refdata.region_names(), NATIONAL}
    assert rows["North East"]["n_last_crc_nps_inspections"] == 2
    assert rows["North East"]["n_first_unified_inspections"] == 1
    assert rows["North East"]["matched"] is True
    assert rows["London"]["matched"] is False
    assert rows["London"]["unmatched_reason"] == "no PDU inspection since unification"
    assert rows["Yorkshire and the Humber"]["unmatched_reason"].startswith("no CRC or NPS")
    # England and Wales pools North East and Wales: crc-a-2 (in both) counts once
    assert rows[NATIONAL]["n_last_crc_nps_inspections"] == 2
    assert rows[NATIONAL]["n_first_unified_inspections"] == 2


def test_needs_reference_and_contract_must_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """One list: a need column in the contract without a row in needs.csv is refused."""
    columns = refdata.contract_columns()
    extra = pl.DataFrame(
        {c: ["need_housing_identified" if c == "column" else None] for c in columns.columns},
        schema=columns.schema,
    )
    monkeypatch.setattr(refdata, "contract_columns", lambda: pl.concat([columns, extra]))
    refdata.needs.cache_clear()
    try:
        with pytest.raises(refdata.ReferenceDataError, match="need_housing_identified"):
            refdata.needs()
    finally:
        refdata.needs.cache_clear()


def test_every_need_has_both_contract_columns() -> None:
    declared = set(refdata.contract_columns()["column"])
    for need in refdata.needs()["need"]:
        assert {f"need_{need}_identified", f"need_{need}_addressed"} <= declared


def test_headline_tables_are_declared_in_the_registry_not_listed_elsewhere() -> None:
    """The suppression search's extra cost for headline rows comes from each table's
    registry entry: the before/after and both same-area tables, nothing else."""
    from pipeline.disclosure import linked_cells
    from pipeline.tables import registry

    assert {t.name for t in registry.TABLES if t.headline} == {
        "unification",
        "same_area",
        "same_area_needs",
    }
    rows = pl.DataFrame({"scope": ["Wales"], "n_applicable": [10]})
    assert linked_cells.row_weights(rows, "same_area_needs")[0] == linked_cells.HEADLINE_WEIGHT
    assert linked_cells.row_weights(rows, "needs")[0] == 1.0
