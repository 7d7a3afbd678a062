"""The dynamic inspection's non-case questions (reference/dipp_noncase_questions.csv)."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline import refdata


def test_noncase_questions_shape_and_sources() -> None:
    table = refdata.dipp_noncase_questions()
    assert table.columns == list(refdata.NONCASE_COLUMNS)
    assert table.height >= 4
    assert table["verified"].dtype == pl.Boolean
    # asked of the region, its staff, partners and policies: never of a case
    assert {"region_leadership", "partnerships", "policies"} <= set(table["asked_of"])
    assert table["answered_by"].str.contains("not a case yes/no", literal=True).all()
    assert table["reported_as"].str.contains("(?i)narrative").all()
    for row in table.filter(pl.col("verified")).iter_rows(named=True):
        assert row["source"].startswith("https://hmiprobation.justiceinspectorates.gov.uk/")
    unverified = table.filter(~pl.col("verified"))
    assert unverified["note"].str.contains("(?i)assumed").all()


def _row(**changes: str) -> dict[str, str]:
    row = {c: "x" for c in refdata.NONCASE_COLUMNS}
    row |= {"asked_of": "partnerships", "verified": "true", "source": "https://example.org/q"}
    return row | changes


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"source": ""}, "must cite its source"),
        ({"verified": "false", "note": "wording from the page"}, "must say it is assumed"),
        ({"verified": "yes"}, "verified is true or false"),
        ({"asked_of": "case"}, "asked_of"),
    ],
)
def test_noncase_check_refuses_bad_rows(changes: dict[str, str], message: str) -> None:
    bad = pl.DataFrame([_row(), _row(question_id="y", **changes)])
    with pytest.raises(refdata.ReferenceDataError, match=message) as caught:
        refdata.check_noncase_questions(bad, "t.csv")
    assert "row 3" in str(caught.value)


def test_noncase_check_accepts_a_verified_row_with_source() -> None:
    good = refdata.check_noncase_questions(pl.DataFrame([_row()]), "t.csv")
    assert good["verified"].to_list() == [True]
