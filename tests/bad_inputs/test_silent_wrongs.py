"""Wrong answers given without a word: a report built from freed rows, a crash on a file name,
an impossible time read as a date, an inverted window, a rejection note that copies a file."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import SAMPLE_DIR
from pipeline.run import UnusableInputError, load_cohorts, run_pipeline
from pipeline.stages import ingest, validate
from tests.helpers import rows_frame, valid_row, write_csv


def test_the_run_reports_the_rows_each_inspection_kept(tmp_path: Path) -> None:
    """The per-inspection summary of a run matches what the database holds (it said 'entirely
    lost, 0 kept' for every inspection with a rejected row)."""
    result = run_pipeline(SAMPLE_DIR, tmp_path / "out")
    lost = result.inspections_lost
    assert lost
    assert any(row["rows_accepted"] > 0 for row in lost)
    con = duckdb.connect(str(tmp_path / "out" / "probation.duckdb"), read_only=True)
    for row in lost:
        held = con.execute(
            "SELECT count(*) FROM cases WHERE source_file = ? AND inspection_id = ?",
            [row["source_file"], row["inspection_id"]],
        ).fetchone()
        assert held == (row["rows_accepted"],), row
        assert row["lost"] == ("entirely" if row["rows_accepted"] == 0 else "partly")


def test_validate_reads_a_file_whose_name_is_not_utf8(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9 export.csv")
    rows = [valid_row(case_id=f"A{i}") for i in range(3)] + [valid_row(case_id="B", rosh="x")]
    (tmp_path / name).write_text(rows_frame(rows).write_csv())
    result = CliRunner().invoke(app, ["validate", str(tmp_path / name)])
    assert result.exit_code == 0, result.output
    assert "AccountingError" not in result.output
    assert "caf\ufffd export.csv" in result.output


@pytest.mark.parametrize("value", ["2021-11-01 25:99", "2021-11-01 24:00", "2021-11-01T12:60"])
def test_an_impossible_time_of_day_is_not_read_as_the_date(tmp_path: Path, value: str) -> None:
    path = write_csv(tmp_path / "f.csv", [valid_row(start_date=value)])
    result = validate.validate([ingest.read_case_file(path, tmp_path)])
    assert result.rejected["reasons"].to_list() == ["unparseable_date(start_date)"]


def test_a_real_time_of_day_is_still_read(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "f.csv", [valid_row(start_date="2021-11-01 23:59:59")])
    result = validate.validate([ingest.read_case_file(path, tmp_path)])
    assert result.accepted["start_date"].cast(str).to_list() == ["2021-11-01"]


@pytest.mark.parametrize("window", ["fieldwork", "published"])
def test_an_inverted_cohort_window_is_refused(tmp_path: Path, window: str) -> None:
    columns = "cohort,label,inspection_types,programmes,fieldwork_from,fieldwork_to,"
    columns += "published_from,published_to,source\n"
    dates = "2023-01-01,2022-01-01,," if window == "fieldwork" else ",,2023-01-01,2022-01-01"
    path = tmp_path / "cohorts.csv"
    path.write_text(columns + f"mine,Mine,,,{dates},test\n")
    with pytest.raises(UnusableInputError, match=f"{window}_from 2023-01-01 is after"):
        load_cohorts(path)


def test_the_first_line_of_a_file_that_is_not_an_export_is_not_copied(tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere" / "token.txt"
    secret.parent.mkdir()
    secret.write_text("ghp_S3CRETT0KEN,another secret\n")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "notes.csv").symlink_to(secret)
    read = ingest.read_case_file(raw / "notes.csv", raw)
    assert read.error
    assert "S3CRET" not in read.error
    assert "secret" not in read.error
    assert "none of its 2 header cell(s) is a contract column" in read.error.lower()


def test_a_long_header_list_is_cut_in_the_rejection_note(tmp_path: Path) -> None:
    frame = rows_frame([valid_row()]).drop("rosh", "case_id")
    frame = frame.with_columns(frame["region"].alias("x" * 500))
    frame.write_csv(tmp_path / "f.csv")
    read = ingest.read_case_file(tmp_path / "f.csv", tmp_path)
    assert read.error
    assert "missing required column(s): case_id, rosh" in read.error
    assert f"and {frame.width - 10} more" in read.error
    assert "x" * 41 not in read.error


def test_a_header_with_a_cyrillic_lookalike_letter_gets_a_hint(tmp_path: Path) -> None:
    frame = rows_frame([valid_row()]).rename({"rosh": "r\u043esh"})  # a Cyrillic o
    frame.write_csv(tmp_path / "f.csv")
    read = ingest.read_case_file(tmp_path / "f.csv", tmp_path)
    assert read.error
    assert "missing required column(s): rosh" in read.error
    assert "'r\u043esh' looks like 'rosh'" in read.error
    assert "U+043E" in read.error
