"""`probation run` and `probation validate` from the command line: outputs and exit codes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app

GOLDEN = Path(__file__).parents[1] / "fixtures" / "golden_export.csv"
runner = CliRunner()


def test_run_writes_the_promised_outputs(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(GOLDEN, raw / "foreign_export.csv")
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", "--raw", str(raw), "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in (
        "cases.parquet",
        "answers.parquet",
        "inspections.parquet",
        "rejected.csv",
        "manifest.json",
        "probation.duckdb",
    ):
        assert (out / name).exists(), name
    assert "3 row(s) quarantined" in result.output


def test_no_case_files_is_unusable_input(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    result = runner.invoke(
        app, ["run", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "no case files" in result.output


def test_every_file_rejected_is_unusable_input(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "bad.csv").write_text("a;b;c\n1;2;3\n")
    result = runner.invoke(
        app, ["run", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "missing required column(s)" in result.output
    assert not (tmp_path / "o" / "cases.parquet").exists()


def test_bad_input_never_shows_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "x.xlsx").write_bytes(b"\x00\x01garbage")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            "--raw",
            str(tmp_path / "raw"),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "x.xlsx" in proc.stderr


def test_validate_reports_without_writing(tmp_path: Path) -> None:
    target = tmp_path / "e.csv"
    shutil.copy(GOLDEN, target)
    result = runner.invoke(app, ["validate", str(target), "--verbose"])
    assert result.exit_code == 0, result.output
    assert "no_key_question_answered" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.csv"]


def test_validate_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2


def test_rate_command(tmp_path: Path) -> None:
    source = tmp_path / "published.csv"
    source.write_text(
        "inspection_id,standard,key_question,pct\n"
        "KSS-2024,implementation_and_delivery,implementation_safety,22\n"
        "X,planning,planning_engagement,81\nX,planning,planning_desistance,66\n"
        "X,planning,planning_safety,90\n"
    )
    out = tmp_path / "rated.csv"
    result = runner.invoke(app, ["rate", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    import polars as pl

    rated = pl.read_csv(out).sort("inspection_id")
    assert rated["rating"].to_list() == ["Inadequate", "Good"]
    bad = tmp_path / "bad.csv"
    bad.write_text("inspection_id,standard,key_question,pct\nA,planning,safety,150\n")
    assert runner.invoke(app, ["rate", str(bad)]).exit_code == 2
