"""Property-based tests: arbitrary inputs never crash ingestion, never lose a row, and every
rejection has a reason; the rating rule is monotone."""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import refdata
from pipeline.stages import ingest, validate
from pipeline.tables import ratings
from tests.helpers import valid_row, write_csv

COLUMNS = refdata.contract_columns()["column"].to_list()
NASTY = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "N/A",
            "=1+1",
            "@SUM(A1)",
            "31/02/2021",
            "2021-13-01",
            "NULL",
            "yes",
            "Y",
            "0",
            "1.0",
            "Kent Surrey & Sussex",
            "très",
            "\u200b",
            "CRC",
            "12/31/2021",
            "44501",
            "-1",
            "+44",
        ]
    ),
)


@st.composite
def export_rows(draw: st.DrawFn) -> list[dict]:
    n = draw(st.integers(min_value=0, max_value=25))
    rows = []
    for i in range(n):
        row = valid_row(case_id=f"P{draw(st.integers(0, 30))}")
        for column in draw(st.lists(st.sampled_from(COLUMNS), max_size=4, unique=True)):
            row[column] = draw(NASTY)
        rows.append(row)
        del i
    return rows


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=export_rows())
def test_validation_never_crashes_or_loses_rows(rows: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(Path(folder) / "x.csv", rows)
        read = ingest.read_case_file(path)
        result = validate.validate([read])
    [account] = result.accounts
    assert account.rows_read + account.blank_rows_skipped == len(rows)
    assert account.rows_read == account.rows_accepted + account.rows_rejected
    assert result.accepted.height + result.rejected.height == account.rows_read
    assert (result.rejected["reasons"].str.len_chars() > 0).all()
    # accepted rows hold only canonical codes
    for column, allowed in refdata.codes().items():
        if column in result.accepted.columns and column != "mappa_level":
            values = set(result.accepted[column].cast(pl.String).drop_nulls())
            assert values <= set(allowed), column


PCT = st.floats(min_value=0, max_value=100, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(a=PCT, b=PCT, c=PCT, which=st.integers(0, 2), bump=st.floats(0, 100))
def test_rating_is_monotone(a: float, b: float, c: float, which: int, bump: float) -> None:
    order = ["Inadequate", "Requires improvement", "Good", "Outstanding"]

    def rate(values: list[float]) -> int:
        frame = pl.DataFrame(
            {
                "inspection_id": ["i"] * 3,
                "framework": ["2023"] * 3,
                "standard": ["planning"] * 3,
                "theme": ["engagement", "desistance", "safety"],
                "pct": values,
            }
        )
        return order.index(ratings.rate_standards(frame)["rating"].cast(pl.String)[0])

    before = [a, b, c]
    after = list(before)
    after[which] = min(100.0, after[which] + bump)
    assert rate(after) >= rate(before)


DEGENERATE_EXPORT = st.lists(
    st.fixed_dictionaries(
        {
            "question_set": st.sampled_from(["core", "adjusted"]),
            "answer": st.sampled_from(["yes", "no", "na"]),
            "rosh": st.sampled_from(["low", "very_high"]),
            "gender": st.sampled_from(["male", "female"]),
            "inspection": st.sampled_from(["PDU-1", "PDU-2"]),
            "era": st.sampled_from(["before", "after"]),
        }
    ),
    max_size=8,
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DEGENERATE_EXPORT)
def test_any_small_valid_export_gives_outputs(cases: list[dict]) -> None:
    """Degenerate but valid exports (no rows, one answer everywhere, one era, constant case
    mix) run end to end: every table is written, nothing is lost. The one refusal allowed is
    disclosure control's: a handful of cases that no suppression pattern can protect stops the
    run with nothing written (publishing would reveal people)."""
    from pipeline.disclosure.suppression import DisclosureBreach
    from pipeline.domain import KEY_QUESTIONS
    from pipeline.run import run_pipeline

    before = {
        "inspection_type": "nps", "provider": "NPS", "framework": "2018",
        "fieldwork_start": "2019-05-06", "fieldwork_end": "2019-05-17", "start_date": "2019-01-07",
    }  # fmt: skip
    rows = [
        valid_row(
            case_id=f"C{i}",
            inspection_id=c["inspection"] + ("-pre" if c["era"] == "before" else ""),
            question_set=c["question_set"],
            rosh=c["rosh"],
            gender=c["gender"],
            **dict.fromkeys(KEY_QUESTIONS, c["answer"]),
            **(before if c["era"] == "before" else {}),
        )
        for i, c in enumerate(cases)
    ]
    with tempfile.TemporaryDirectory() as folder:
        raw = Path(folder) / "raw"
        raw.mkdir()
        if rows:
            write_csv(raw / "export.csv", rows)
        else:
            (raw / "export.csv").write_text(",".join(valid_row()) + "\n")
        out = Path(folder) / "out"
        try:
            result = run_pipeline(raw, out)
        except DisclosureBreach:
            assert not (out / "cases.parquet").exists(), "a refused run writes nothing"
            assert not (out / ".staging").exists()
            return
        assert result.rows_read == len(rows) == result.rows_accepted + result.rows_rejected
        assert (out / "tables" / "unification.parquet").exists()
