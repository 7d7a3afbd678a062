"""Paths are literal and every file opened is a regular file.

Polars reads `[` in a path as a glob, so `--out "Results [2024]/out"` failed after all the work;
a FIFO named by `--cohorts` (or left under --raw) made a run wait forever. Each case runs the
CLI in a child process with a time limit, so a hang fails the test instead of the test run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.helpers import valid_row, write_csv


def _cli(*args: str | Path, cwd: Path) -> tuple[int, str]:
    env = {**os.environ, "COLUMNS": "400"}
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", *map(str, args)],
        capture_output=True, text=True, errors="replace", cwd=cwd, env=env, timeout=120,
    )  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr


def _export(path: Path, tag: str = "A") -> Path:
    rows = [valid_row(case_id=f"{tag}{i}", inspection_id=f"PDU-{i % 4}") for i in range(20)]
    return write_csv(path, rows)


COHORTS = (
    "cohort,label,inspection_types,programmes,fieldwork_from,fieldwork_to,published_from,"
    "published_to,source\n"
)


def test_brackets_in_out_raw_and_cohort_paths_are_literal(tmp_path: Path) -> None:
    _export(tmp_path / "raw [v2]" / "Cases [final].csv")
    (tmp_path / "my [cohorts].csv").write_text(
        COHORTS + "mine,Mine,pdu,,2022-01-01,2022-12-31,,,test\n"
    )
    out = tmp_path / "Results [2024]" / "out"
    code, shown = _cli(
        "run", "--raw", "raw [v2]", "--out", out, "--cohorts", "my [cohorts].csv", cwd=tmp_path
    )
    assert code == 0, shown
    assert "Cases [final].csv" in shown
    assert pl.read_parquet(out / "cases.parquet", glob=False).height == 20
    con = duckdb.connect(str(out / "probation.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM cases").fetchall() == [(20,)]
    assert con.execute("SELECT count(*) FROM kq_cohort WHERE cohort = 'mine'").fetchone()[0] > 0


def test_rate_reads_a_file_with_brackets_in_its_name(tmp_path: Path) -> None:
    (tmp_path / "rates [x].csv").write_text(
        "inspection_id,standard,key_question,pct\nPDU-1,assessment,assessment_engagement,80\n"
    )
    code, shown = _cli("rate", "rates [x].csv", cwd=tmp_path)
    assert code == 0, shown
    assert "PDU-1" in shown


def test_a_fifo_given_as_cohorts_is_refused_at_once(tmp_path: Path) -> None:
    _export(tmp_path / "raw" / "export.csv")
    os.mkfifo(tmp_path / "cohorts.csv")
    code, shown = _cli(
        "run", "--raw", "raw", "--out", "out", "--cohorts", "cohorts.csv", cwd=tmp_path
    )
    assert code == 2, shown
    assert "named pipe" in shown
    assert "Traceback" not in shown


def test_fifos_and_devices_under_raw_are_named_not_opened(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    _export(raw / "export.csv")
    os.mkfifo(raw / "waiting.csv")
    (raw / "published").mkdir()
    os.mkfifo(raw / "published" / "figures.csv")
    (raw / "zero.csv").symlink_to("/dev/zero")
    (raw / "linked.csv").symlink_to(_export(tmp_path / "elsewhere" / "real.csv", "L"))
    code, shown = _cli("run", "--raw", "raw", "--out", "out", cwd=tmp_path)
    assert code == 0, shown
    assert "waiting.csv: a named pipe (FIFO), not a regular file" in shown
    assert "zero.csv: a character device, not a regular file" in shown
    assert pl.read_parquet(tmp_path / "out" / "cases.parquet").height == 40  # the link is read


def test_validate_refuses_a_fifo_with_a_message(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.csv")
    code, shown = _cli("validate", "pipe.csv", cwd=tmp_path)
    assert code == 2
    assert "not a regular file" in shown
    assert "named pipe" in shown


def test_a_file_that_never_delivers_data_is_given_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stalled network drive, simulated by a read that does not return: the file is
    reported as not read once the time limit passes, and the run can go on."""
    import threading

    from pipeline.stages import ingest

    release = threading.Event()

    def stalled(path: Path) -> bytes:
        release.wait(30)
        return b""

    path = _export(tmp_path / "export.csv")
    monkeypatch.setattr(ingest, "_read_regular", stalled)
    monkeypatch.setattr(ingest, "READ_TIMEOUT", 0.5)
    read = ingest.read_case_file(path, tmp_path)
    release.set()
    assert read.error == "export.csv: not read, no data within 0.5 s (a stalled network drive?)"
