"""Validation: one test per row rule, one per tolerated variant, accounting."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from pipeline.domain import KEY_QUESTIONS
from pipeline.stages import derive, ingest, tidy, validate
from tests.helpers import valid_row, write_csv


def _check(tmp_path: Path, rows: list[dict], name: str = "f.csv") -> validate.ValidationResult:
    path = write_csv(tmp_path / name, rows)
    return validate.validate([ingest.read_case_file(path, tmp_path)])


def _reasons(result: validate.ValidationResult) -> list[str]:
    return result.rejected["reasons"].to_list()


def test_valid_row_is_accepted(tmp_path: Path) -> None:
    result = _check(tmp_path, [valid_row()])
    assert result.accepted.height == 1
    assert result.rejected.height == 0


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"rosh": "severe"}, "unknown_code(rosh)"),
        ({"inspection_type": "prison"}, "unknown_code(inspection_type)"),
        ({"case_type": "custody"}, "unknown_code(case_type)"),
        ({"region": "Atlantis"}, "unknown_code(region)"),
        ({"start_date": "31/02/2021"}, "unparseable_date(start_date)"),
        ({"start_date": "12/31/2021"}, "unparseable_date(start_date)"),  # US order: never read
        ({"fieldwork_end": "soon"}, "unparseable_date(fieldwork_end)"),
        ({"start_date": "2022-06-01"}, "start_date_after_fieldwork_end"),
        ({"fieldwork_start": "2022-05-21"}, "fieldwork_start_after_end"),
        ({"provider": "CRC"}, "provider_inconsistent_with_dates"),
        (dict.fromkeys(KEY_QUESTIONS), "no_key_question_answered"),
        ({"case_id": ""}, "missing_value(case_id)"),
        ({"inspection_id": None}, "missing_value(inspection_id)"),
    ],
)
def test_each_rule(tmp_path: Path, override: dict, reason: str) -> None:
    result = _check(tmp_path, [valid_row(**override)])
    assert _reasons(result) == [reason]
    assert result.accepted.height == 0


@pytest.mark.parametrize(
    ("override", "column", "suggestion"),
    [
        ({"da_concern": "sometimes"}, "da_concern", None),
        ({"mappa_level": "4"}, "mappa_level", None),
        ({"gender": "M"}, "gender", "male"),
        ({"age_band": "50 and over"}, "age_band", "50+"),
        ({"practitioner_grade": "Probation Oficer"}, "practitioner_grade", "po"),
        ({"caseload_band": "60+"}, "caseload_band", None),
        ({"prompt_da_information_used": "Yse"}, "prompt_da_information_used", "yes"),
        ({"publication_date": "next spring"}, "publication_date", None),
        ({"assessor_type": "volunteer"}, "assessor_type", None),
        ({"adjusted_reason": "sometimes"}, "adjusted_reason", None),
    ],
)
def test_a_bad_optional_field_keeps_the_case(
    tmp_path: Path, override: dict, column: str, suggestion: str | None
) -> None:
    """An invalid optional field is set to missing and reported; the case and its answers are
    kept (they used to be quarantined whole), and accounting still adds up."""
    result = _check(tmp_path, [valid_row(**override), valid_row(case_id="C2")])
    assert result.rejected.height == 0
    assert result.accepted.height == 2
    [issue] = result.field_issues.iter_rows(named=True)
    assert issue["column"] == column
    assert issue["value"] == override[column]
    assert issue["source_row"] == 2
    assert issue["suggestion"] == suggestion
    assert result.accepted.filter(pl.col("case_id") != "C2")[column].is_null().all()
    [account] = result.accounts
    assert account.rows_read == 2 == account.rows_accepted
    assert account.field_issues == 1


DIPP_ROW = {
    "inspection_id": "DIPP-2025-11-test",
    "inspection_type": "dipp",
    "framework": "dipp2025",
    "fieldwork_start": "2025-11-03",
    "fieldwork_end": "2025-11-28",
    "publication_date": "2026-02-01",
    "start_date": "2025-06-01",
    **dict.fromkeys(KEY_QUESTIONS),
    **dict.fromkeys(
        ("assessment_safety", "planning_safety", "implementation_safety", "reviewing_safety"),
        "yes",
    ),
}


@pytest.mark.parametrize(
    ("question_set", "reason", "flagged"),
    [
        ("adjusted", "not_applicable", True),  # adjusted, yet no reason
        ("core", "pss_only_from_release", True),  # a reason on the core set
        ("adjusted", None, True),  # the dynamic inspection always names one
        ("adjusted", "licence_8_weeks_or_less", False),
        ("adjusted", "reset_or_impact_within_8_weeks", False),
        ("core", "not_applicable", False),
        ("core", None, False),
    ],
)
def test_adjusted_reason_is_set_exactly_on_the_adjusted_set(
    tmp_path: Path, question_set: str, reason: str | None, flagged: bool
) -> None:
    row = valid_row(**DIPP_ROW, question_set=question_set, adjusted_reason=reason)
    result = _check(tmp_path, [row])
    assert result.rejected.height == 0
    assert result.accepted.height == 1  # a finding, never a lost case
    issues = result.field_issues.to_dicts()
    if not flagged:
        assert issues == []
        assert result.accepted["adjusted_reason"].cast(pl.String).to_list() == [reason]
        return
    [issue] = issues
    assert (issue["source_file"], issue["source_row"]) == ("f.csv", 2)
    assert issue["column"] == "adjusted_reason"
    assert issue["value"] == reason
    assert issue["issue"] == "adjusted_reason_inconsistent(adjusted_reason)"
    assert result.accepted["adjusted_reason"].is_null().all()


def test_a_core_inspection_without_the_column_is_not_flagged(tmp_path: Path) -> None:
    """Exports from before the column existed: an adjusted case with no reason is fine."""
    result = _check(tmp_path, [valid_row(question_set="adjusted")])
    assert result.field_issues.height == 0
    assert result.accepted.height == 1


def test_an_unknown_key_question_answer_quarantines_the_row(tmp_path: Path) -> None:
    """'Maybe' for a key question used to be set to missing and the case kept, silently
    leaving that question's denominator one case short; now the row is quarantined with its
    reason. A prompt's 'maybe' stays a field issue (the case is kept)."""
    rows = [
        valid_row(case_id="X1"),
        valid_row(case_id="X2", assessment_safety="Maybe"),
        valid_row(case_id="X3", court_work="perhaps"),
        valid_row(case_id="X4", prompt_risk_of_harm_identified="maybe"),
        valid_row(case_id="X5", planning_safety="no"),
    ]
    path = write_csv(tmp_path / "f.csv", rows)
    result = validate.validate([ingest.read_case_file(path, tmp_path)])
    rejected = dict(result.rejected.select("case_id", "reasons").iter_rows())
    assert rejected == {
        "X2": "unknown_code(assessment_safety)",
        "X3": "unknown_code(court_work)",
    }
    details = dict(result.rejected.select("case_id", "details").iter_rows())
    assert details["X2"].startswith("assessment_safety 'Maybe' is not a known value")
    assert sorted(result.accepted["case_id"]) == ["X1", "X4", "X5"]
    assert result.field_issues["column"].to_list() == ["prompt_risk_of_harm_identified"]
    [account] = result.accounts
    assert (account.rows_read, account.rows_accepted, account.rows_rejected) == (5, 3, 2)
    answers = tidy.answers_table(derive.derive(result.accepted.lazy())).collect()
    assert answers.height == 3 * 12
    counts = answers.group_by("key_question", "answer").len()
    by_key = {(str(q), str(a)): n for q, a, n in counts.iter_rows()}
    assert by_key[("assessment_safety", "yes")] == 3
    assert (by_key[("planning_safety", "yes")], by_key[("planning_safety", "no")]) == (2, 1)


def test_a_row_rejected_for_another_reason_lists_its_field_problems_too(tmp_path: Path) -> None:
    result = _check(tmp_path, [valid_row(rosh="severe", gender="M")])
    assert sorted(_reasons(result)[0].split("; ")) == ["unknown_code(gender)", "unknown_code(rosh)"]
    assert result.field_issues.height == 0


def test_ps_before_unification_is_inconsistent(tmp_path: Path) -> None:
    row = valid_row(
        fieldwork_start="2020-01-06",
        fieldwork_end="2020-01-17",
        start_date="2019-06-01",
        framework="2018",
        inspection_type="crc",
    )
    assert _reasons(_check(tmp_path, [row])) == ["provider_inconsistent_with_dates"]


def test_unification_day_itself_is_post_unification(tmp_path: Path) -> None:
    row = valid_row(
        fieldwork_start="2021-06-26",
        fieldwork_end="2021-07-09",
        start_date="2021-01-01",
        provider="CRC",
    )
    assert _reasons(_check(tmp_path, [row])) == ["provider_inconsistent_with_dates"]


def test_a_row_collects_every_reason(tmp_path: Path) -> None:
    row = valid_row(rosh="x", gender="robot", start_date="2023-01-01", provider="NPS")
    assert _reasons(_check(tmp_path, [row])) == [
        "unknown_code(rosh); unknown_code(gender); start_date_after_fieldwork_end; "
        "provider_inconsistent_with_dates"
    ]


def test_duplicates_keep_the_first_and_name_it_across_files(tmp_path: Path) -> None:
    write_csv(tmp_path / "a.csv", [valid_row(case_id="1"), valid_row(case_id="2")])
    write_csv(tmp_path / "b.csv", [valid_row(case_id="2"), valid_row(case_id=" 1 ")])
    reads = ingest.read_case_files(ingest.find_case_files(tmp_path), tmp_path)
    result = validate.validate(reads)
    assert sorted(result.accepted["case_id"]) == ["1", "2"]
    assert set(result.accepted["source_file"]) == {"a.csv"}
    assert _reasons(result) == [
        "duplicate_case(first: a.csv row 3)",
        "duplicate_case(first: a.csv row 2)",
    ]


@pytest.mark.parametrize(
    ("column", "spelling", "expected"),
    [
        *[("assessment_safety", s, "yes") for s in ["Yes", "Y", "y", " YES ", "TRUE", "1"]],
        *[("assessment_safety", s, "no") for s in ["No", "N", "false", "0", " no"]],
        *[("assessment_safety", s, "na") for s in ["N/A", "NA", "n.a.", "n/a ", "Not applicable"]],
        *[("da_concern", s, True) for s in ["TRUE", "Yes", "Y", "1"]],
        *[("da_concern", s, False) for s in ["FALSE", "no", "n", "0"]],
        ("region", "Yorkshire & Humber", "Yorkshire and the Humber"),
        ("region", "KSS", "Kent, Surrey and Sussex"),
        ("region", "Kent Surrey and Sussex", "Kent, Surrey and Sussex"),
        ("region", "EASTERN", "East of England"),
        ("region", "  london ", "London"),
        ("provider", "ps", "PS"),
        ("rosh", "Medium", "medium"),
        ("rosh", "Very High", "very_high"),
        ("framework", "2021.0", "2021"),
        ("mappa_level", "1.0", 1),
        ("start_date", "01/11/2021", dt.date(2021, 11, 1)),
        ("start_date", "5/6/2021", dt.date(2021, 6, 5)),  # UK order: 5 June
        ("start_date", "2021-11-01 00:00:00", dt.date(2021, 11, 1)),
    ],
)
def test_tolerated_variants_are_normalised(
    tmp_path: Path, column: str, spelling: str, expected: object
) -> None:
    result = _check(tmp_path, [valid_row(**{column: spelling})])
    assert result.rejected.height == 0, _reasons(result)
    value = result.accepted[column][0]
    if isinstance(value, str) or hasattr(result.accepted[column].dtype, "categories"):
        value = str(value)
    assert value == expected


def test_excel_serial_dates_only_from_spreadsheets(tmp_path: Path) -> None:
    import xlsxwriter

    row = valid_row(start_date="44501")  # 2021-11-01 as an Excel serial
    result = _check(tmp_path, [row])
    assert _reasons(result) == ["unparseable_date(start_date)"], "a CSV number is not a date"
    path = tmp_path / "s.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("cases")
    ws.write_row(0, 0, list(row))
    ws.write_row(1, 0, [int(v) if k == "start_date" else v for k, v in row.items()])
    wb.close()
    result = validate.validate([ingest.read_case_file(path)])
    assert result.accepted["start_date"].to_list() == [dt.date(2021, 11, 1)]


def test_empty_optional_fields_are_fine(tmp_path: Path) -> None:
    row = valid_row(publication_date="", mappa_level=None, gender=None, da_enquiry="")
    result = _check(tmp_path, [row])
    assert result.rejected.height == 0
    assert result.accepted.select("publication_date", "mappa_level", "gender").row(0) == (
        None,
        None,
        None,
    )


def test_rejected_rows_keep_original_values(tmp_path: Path) -> None:
    result = _check(tmp_path, [valid_row(rosh="  Severe!  ", start_date="31/02/2021")])
    row = result.rejected.row(0, named=True)
    assert row["rosh"] == "  Severe!  "
    assert row["start_date"] == "31/02/2021"
    assert (row["source_file"], row["source_row"]) == ("f.csv", 2)


def test_accounting_adds_up_per_file(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "a.csv",
        [valid_row(case_id=str(i)) for i in range(5)] + [valid_row(case_id="bad", rosh="?")],
    )
    (tmp_path / "b.csv").write_text("only,two\ncolumns,here\n")
    reads = ingest.read_case_files(ingest.find_case_files(tmp_path), tmp_path)
    result = validate.validate(reads)
    by_file = {a.source_file: a for a in result.accounts}
    assert (
        by_file["a.csv"].rows_read,
        by_file["a.csv"].rows_accepted,
        by_file["a.csv"].rows_rejected,
    ) == (6, 5, 1)
    assert (by_file["b.csv"].rows_read, by_file["b.csv"].rows_rejected) == (1, 1)
    assert by_file["b.csv"].file_error is not None


def test_accounting_error_is_raised_when_rows_go_missing(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [valid_row(case_id="1"), valid_row(case_id="2")])
    read = ingest.read_case_file(path, tmp_path)
    read.rows_read = 3  # pretend the reader saw a row that never reached validation
    with pytest.raises(validate.AccountingError, match="read 3"):
        validate.validate([read])


def test_sample_normalises_to_the_generators_canonical_values(
    sample_dir: Path, default_cases: pl.DataFrame
) -> None:
    """Every drawn case survives ingest and validation unchanged; planted rows are extra."""
    reads = ingest.read_case_files(ingest.find_case_files(sample_dir), sample_dir)
    result = validate.validate(reads)
    import json

    manifest = json.loads((sample_dir / "sample_manifest.json").read_text())
    planted = sum(len(v) for f in manifest["files"].values() for v in f["invalid_rows"].values())
    assert result.rejected.height == planted
    key = ["inspection_id", "case_id"]
    columns = [c for c in default_cases.columns if c not in ("synthetic", "export") and c[0] != "_"]
    got = (
        result.accepted.select(columns)
        .with_columns(pl.col(c).cast(pl.String) for c in columns)
        .sort(key)
    )
    want = (
        default_cases.select(columns)
        .with_columns(pl.col(c).cast(pl.String) for c in columns)
        .sort(key)
    )
    # planted rows are extra copies: every drawn case survives validation, none is replaced
    assert got.height == want.height == default_cases.height
    assert got.equals(want)


def test_each_planted_row_is_rejected_for_the_rule_it_breaks(sample_dir: Path) -> None:
    """The generator and the validator name rules from one list: a planted row's kind must
    appear in its reasons (the counts matched while the names did not)."""
    import json

    from pipeline.domain import Rule

    reads = ingest.read_case_files(ingest.find_case_files(sample_dir), sample_dir)
    rejected = validate.validate(reads).rejected
    reasons = {
        (f, r): text
        for f, r, text in rejected.select("source_file", "source_row", "reasons").iter_rows()
    }
    manifest = json.loads((sample_dir / "sample_manifest.json").read_text())
    checked = 0
    for name, info in manifest["files"].items():
        for kind, rows in info["invalid_rows"].items():
            assert kind in {r.value for r in Rule}, kind
            for row in rows:
                assert kind in reasons[(name, row)], (name, row, kind)
                checked += 1
    assert checked == rejected.height > 0


def _write_xlsx_with_notes_first(path: Path, rows: list[dict]) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    notes = book.add_worksheet("Notes")
    notes.write_string(0, 0, "Exported from the case assessment tool. Do not edit.")
    data = book.add_worksheet("Data")
    header = list(rows[0])
    data.write_row(0, 0, header)
    for i, row in enumerate(rows, start=1):
        data.write_row(i, 0, [row[c] or "" for c in header])
    book.close()


def test_the_thirty_case_export_keeps_what_a_researcher_expects(tmp_path: Path) -> None:
    """The data-products scenario: an older region name, bad optional fields, an invalid first
    duplicate, and a workbook whose first sheet is notes. Every case a researcher would keep is
    kept; every rejection names its value (and a suggestion where one is close)."""
    yorkshire = [
        valid_row(inspection_id="PDU-YH", case_id=f"Y{i}", region="Yorkshire and Humberside")
        for i in range(10)
    ]
    optional = [
        valid_row(inspection_id="PDU-L", case_id="L1", gender="M"),
        valid_row(inspection_id="PDU-L", case_id="L2", age_band="50 and over"),
        valid_row(inspection_id="PDU-L", case_id="L3", mappa_level="N/A"),
        valid_row(inspection_id="PDU-L", case_id="L4"),
        valid_row(inspection_id="PDU-L", case_id="L4", rosh="medum"),  # invalid duplicate...
    ]
    optional[3], optional[4] = optional[4], optional[3]  # ...exported first
    typo = [valid_row(inspection_id="PDU-W", case_id="W1", region="Walse")]
    write_csv(tmp_path / "export.csv", [*yorkshire, *optional, *typo])
    workbook = [valid_row(inspection_id="PDU-X", case_id=f"X{i}") for i in range(14)]
    _write_xlsx_with_notes_first(tmp_path / "export.xlsx", workbook)
    reads = ingest.read_case_files(ingest.find_case_files(tmp_path), tmp_path)
    result = validate.validate(reads)
    assert result.rows_read == 30
    assert result.accepted.height == 28  # all but the invalid duplicate copy and 'Walse'
    assert result.rows_read == result.accepted.height + result.rejected.height
    assert result.field_issues.height == 3
    assert set(result.accepted.filter(pl.col("inspection_id") == "PDU-YH")["region"]) == {
        "Yorkshire and the Humber"
    }
    assert next(r for r in reads if r.path.suffix == ".xlsx").sheet == "Data"
    details = dict(result.rejected.select("case_id", "details").iter_rows())
    assert details["W1"] == "region 'Walse' is not a known value (did you mean 'Wales'?)"
    assert details["L4"] == "rosh 'medum' is not a known value (did you mean 'medium'?)"
    kept = result.accepted.filter(pl.col("case_id") == "L4")
    assert kept["rosh"].cast(pl.String).to_list() == ["medium"], "the valid copy is kept"


def test_a_named_sheet_is_read_and_a_missing_one_is_explained(tmp_path: Path) -> None:
    _write_xlsx_with_notes_first(tmp_path / "e.xlsx", [valid_row(case_id="1")])
    read = ingest.read_case_file(tmp_path / "e.xlsx", sheet="Notes")
    assert read.error
    assert "sheet 'Notes'" in read.error
    assert "'Data'" in read.error
    assert "--sheet" in read.error
    assert ingest.read_case_file(tmp_path / "e.xlsx", sheet="data").rows_read == 1
    missing = ingest.read_case_file(tmp_path / "e.xlsx", sheet="Cases 2024")
    assert missing.error
    assert "no sheet 'Cases 2024'" in missing.error


def test_rows_that_disagree_with_their_inspection_are_rejected_naming_the_field(
    tmp_path: Path,
) -> None:
    rows = [valid_row(case_id=str(i)) for i in range(5)]
    rows += [
        valid_row(case_id="x", region="Wales"),
        valid_row(case_id="y", framework="2023"),
        valid_row(case_id="z", fieldwork_end="2022-06-30"),
    ]
    crc = {
        "inspection_id": "CRC-1", "inspection_type": "crc", "provider": "CRC",
        "framework": "2018", "fieldwork_start": "2019-05-01", "fieldwork_end": "2019-05-10",
        "start_date": "2019-01-01",
    }  # fmt: skip
    rows += [valid_row(case_id=f"c{i}", region=r, **crc) for i, r in enumerate(["London", "Wales"])]
    write_csv(tmp_path / "a.csv", rows)
    result = validate.validate(ingest.read_case_files(ingest.find_case_files(tmp_path), tmp_path))
    assert dict(result.rejected.select("case_id", "reasons").iter_rows()) == {
        "x": "inconsistent_inspection(region)",
        "y": "inconsistent_inspection(framework)",
        "z": "inconsistent_inspection(fieldwork_end)",
    }
    assert result.accepted.height == 7, "a CRC footprint may span two of today's regions"


def test_dates_that_parse_but_cannot_be_right_are_caught(tmp_path: Path) -> None:
    rows = [
        valid_row(inspection_id="A", case_id="1", fieldwork_start="2099-05-09",
                  fieldwork_end="2099-05-20"),
        valid_row(inspection_id="B", case_id="2", start_date="1900-01-01"),
        valid_row(inspection_id="C", case_id="3", publication_date="2022-01-01"),
    ]  # fmt: skip
    write_csv(tmp_path / "a.csv", rows)
    result = validate.validate(ingest.read_case_files(ingest.find_case_files(tmp_path), tmp_path))
    reasons = dict(result.rejected.select("case_id", "reasons").iter_rows())
    assert "implausible_date(fieldwork_start)" in reasons["1"]
    assert reasons["2"] == "implausible_date(start_date)"
    # publication before fieldwork is an optional field: set to missing, case kept
    assert result.field_issues.select("column", "issue").rows() == [
        ("publication_date", "implausible_date(publication_date)")
    ]
    assert result.accepted["case_id"].to_list() == ["3"]
    assert result.accepted["publication_date"].to_list() == [None]


def test_a_judgement_on_a_question_the_framework_does_not_ask_is_set_to_missing(
    tmp_path: Path,
) -> None:
    dipp = {
        "inspection_id": "DIPP-1", "inspection_type": "dipp", "framework": "dipp2025",
        "fieldwork_start": "2025-11-03", "fieldwork_end": "2025-11-14",
        "start_date": "2025-06-01", "publication_date": None,
    }  # fmt: skip
    write_csv(tmp_path / "a.csv", [valid_row(case_id="d1", **dipp)])
    result = validate.validate(ingest.read_case_files(ingest.find_case_files(tmp_path), tmp_path))
    assert result.rejected.height == 0
    assert result.accepted.select("assessment_engagement", "assessment_safety").rows() == [
        (None, "yes")
    ]
    assert set(result.field_issues["issue"]) == {
        f"question_not_asked({q})" for q in KEY_QUESTIONS if not q.endswith("_safety")
    }


def test_case_ids_that_differ_only_invisibly_or_by_case_are_duplicates(tmp_path: Path) -> None:
    rows = [
        valid_row(case_id="A1"),
        valid_row(case_id="a1"),
        valid_row(case_id="A\u200b1"),
        valid_row(case_id="A1\x00"),
        valid_row(case_id="B2"),
    ]
    write_csv(tmp_path / "a.csv", rows)
    result = validate.validate(ingest.read_case_files(ingest.find_case_files(tmp_path), tmp_path))
    assert sorted(result.accepted["case_id"]) == ["A1", "B2"]
    assert result.rejected["reasons"].to_list() == ["duplicate_case(first: a.csv row 2)"] * 3


def test_identifiers_are_compared_in_composed_unicode(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """'Môn' typed as one character (NFC) in one file and as 'o' + a combining accent (NFD) in
    another is one inspection; 'Zoë-n' twice is a duplicate; the normalisation is reported."""
    import unicodedata

    nfc, nfd = (unicodedata.normalize(f, "PDU-Ynys-Môn-2022") for f in ("NFC", "NFD"))
    zoe_nfc, zoe_nfd = (unicodedata.normalize(f, "Zoë-n") for f in ("NFC", "NFD"))
    assert nfc != nfd
    assert zoe_nfc != zoe_nfd
    write_csv(tmp_path / "a.csv", [valid_row(inspection_id=nfc, case_id="A1")])
    write_csv(
        tmp_path / "b.csv",
        [
            valid_row(inspection_id=nfd, case_id="B1", unit_name="Ynys Mo\u0302n"),
            valid_row(inspection_id=nfc, case_id=zoe_nfc),
            valid_row(inspection_id=nfc, case_id=zoe_nfd, rosh="high"),
        ],
    )
    reads = [ingest.read_case_file(tmp_path / n, tmp_path) for n in ("a.csv", "b.csv")]
    with caplog.at_level("WARNING"):
        result = validate.validate(reads)
    assert result.accepted["inspection_id"].unique().to_list() == [nfc]
    assert result.accepted.filter(pl.col("case_id") == "B1")["unit_name"].item() == "Ynys Môn"
    assert result.rejected["reasons"].to_list() == ["duplicate_case(first: b.csv row 3)"]
    assert "not in composed Unicode form (NFC)" in caplog.text
    assert "inspection_id 1" in caplog.text
    assert "case_id 1" in caplog.text
