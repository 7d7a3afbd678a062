"""Golden end-to-end test: a hand-written export whose outcome was worked out by hand.

tests/fixtures/golden_export.csv holds six rows (header is row 1):
  row 2  A1 (CRC, 2019)  valid, canonical spellings                      -> accepted
  row 3  B1 (PDU, 2022)  valid with variants: KSS, 'ps', UK dates, Y/N,
                         N/A, n.a., NA, 'Licence', 'High'                 -> accepted
  row 4  A1 again        duplicate of row 2                              -> rejected
  row 5  B2              rosh 'severe' AND start date after fieldwork end -> rejected (2 reasons)
  row 6  D1 (DIPP)       'Cymru', adjusted set, four safety answers      -> accepted
  row 7  D2 (DIPP)       no key question answered                        -> rejected
  row 8  only commas     a blank spreadsheet row: skipped, not a record
Answers: A1 12 + B1 12 + D1 4 = 28 rows; yes = 8 (A1) + 4 (B1) + 2 (D1) = 14,
no = 4 (A1) + 5 (B1) + 2 (D1) = 11, na = 3 (B1 reviewing).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest

from pipeline.run import run_pipeline

FIXTURE = Path(__file__).parents[1] / "fixtures" / "golden_export.csv"


@pytest.fixture(scope="module")
def golden_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("raw")
    shutil.copy(FIXTURE, raw / "export.csv")
    out = tmp_path_factory.mktemp("out")
    run_pipeline(raw, out)
    return out


def test_accepted_cases(golden_run: Path) -> None:
    cases = pl.read_parquet(golden_run / "cases.parquet")
    assert cases["case_id"].to_list() == ["A1", "D1", "B1"]  # sorted by inspection_id, case_id
    b1 = cases.filter(pl.col("case_id") == "B1").row(0, named=True)
    assert b1["region"] == "Kent, Surrey and Sussex"
    assert b1["provider"] == "PS"
    assert b1["fieldwork_start"] == dt.date(2022, 2, 7)
    assert b1["start_date"] == dt.date(2021, 8, 10)
    assert (b1["case_type"], b1["rosh"], b1["gender"]) == ("licence", "high", "female")
    assert (b1["da_concern"], b1["da_enquiry"], b1["cs_enquiry"]) == (True, "no", "yes")
    assert b1["publication_date"] is None
    assert (b1["era"], b1["programme"], b1["financial_year"]) == (
        "post_unification",
        "pdu_2021",
        "2021-22",
    )
    a1 = cases.filter(pl.col("case_id") == "A1").row(0, named=True)
    assert (a1["era"], a1["financial_year"], a1["quarter"], a1["half_year"]) == (
        "pre_unification",
        "2018-19",
        "2019-Q1",
        "2019-H1",
    )
    d1 = cases.filter(pl.col("case_id") == "D1").row(0, named=True)
    assert (d1["region"], d1["question_set"], d1["programme"]) == ("Wales", "adjusted", "dipp_2025")


def test_answers(golden_run: Path) -> None:
    answers = pl.read_parquet(golden_run / "answers.parquet")
    assert answers.height == 28
    counts = dict(answers.group_by(pl.col("answer").cast(pl.String)).len().iter_rows())
    assert counts == {"yes": 14, "no": 11, "na": 3}
    d1 = answers.filter(pl.col("case_id") == "D1")
    assert set(d1["theme"].cast(pl.String)) == {"safety"}
    assert d1.filter(pl.col("key_question") == "assessment_safety")["kq_code"][0] == "C1"


def test_rejected_rows_and_reasons(golden_run: Path) -> None:
    rejected = pl.read_csv(golden_run / "rejected.csv", infer_schema_length=0)
    reasons = dict(zip(rejected["source_row"].cast(int), rejected["reasons"], strict=True))
    assert reasons == {
        4: "duplicate_case(first: export.csv row 2)",
        5: "unknown_code(rosh); start_date_after_fieldwork_end",
        7: "no_key_question_answered",
    }
    # original values are kept as written
    assert rejected.filter(pl.col("source_row") == "5")["rosh"][0] == "severe"


def test_inspections(golden_run: Path) -> None:
    inspections = pl.read_parquet(golden_run / "inspections.parquet")
    assert inspections["inspection_id"].to_list() == [
        "CRC-2019-essex",
        "PDU-2022-surrey",
        "DIPP-2025-wales",
    ]
    assert inspections["n_cases"].to_list() == [1, 1, 1]
    assert inspections["n_cases_adjusted"].to_list() == [0, 0, 1]


def test_manifest_accounting(golden_run: Path) -> None:
    import json

    manifest = json.loads((golden_run / "manifest.json").read_text())
    [entry] = [i for i in manifest["inputs"] if i["path"] == "export.csv"]
    assert (entry["rows_read"], entry["rows_accepted"], entry["rows_rejected"]) == (6, 3, 3)
    assert entry["blank_rows_skipped"] == 1
    assert manifest["rejected_by_rule"] == {
        "duplicate_case": 1,
        "no_key_question_answered": 1,
        "start_date_after_fieldwork_end": 1,
        "unknown_code": 1,
    }
    assert len(entry["sha256"]) == 64
