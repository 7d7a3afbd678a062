"""What real exports, analysts and machines do: degenerate but valid inputs, two runs on one
output folder, a database left open or with a stale write-ahead log, outputs inside inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.domain import KEY_QUESTIONS
from pipeline.run import LOCK_NAME, UnusableInputError, run_pipeline
from tests.helpers import valid_row, write_csv


def _export(folder: Path, rows: list[dict]) -> Path:
    raw = folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    write_csv(raw / "export.csv", rows)
    return raw


def _rows(n: int = 20, **overrides: str) -> list[dict]:
    return [valid_row(case_id=str(i), inspection_id=f"PDU-{i % 4}", **overrides) for i in range(n)]


DEGENERATE = {
    "every case on the adjusted question set": _rows(question_set="adjusted"),
    "every answer not applicable": _rows(**dict.fromkeys(KEY_QUESTIONS, "na")),
    "every row rejected by a rule": _rows(5, rosh="zzz"),
    "one case": _rows(1),
}


@pytest.mark.parametrize("name", list(DEGENERATE))
def test_every_valid_input_gives_outputs(tmp_path: Path, name: str) -> None:
    raw = _export(tmp_path, DEGENERATE[name])
    result = run_pipeline(raw, tmp_path / "out")
    assert result.rows_read == result.rows_accepted + result.rows_rejected
    for table in ("kq_trend", "unification", "ratings"):
        assert (tmp_path / "out" / "tables" / f"{table}.parquet").exists()
    assert (tmp_path / "out" / "rejected.csv").exists()
    assert duckdb.connect(str(tmp_path / "out" / "probation.duckdb"), read_only=True).execute(
        "SELECT count(*) FROM cases"
    ).fetchall() == [(result.rows_accepted,)]


def test_a_header_only_file_and_an_empty_parquet_give_empty_outputs(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "header.csv").write_text(",".join(valid_row()) + "\n")
    pl.DataFrame({k: pl.Series([], dtype=pl.String) for k in valid_row()}).write_parquet(
        raw / "empty.parquet"
    )
    result = run_pipeline(raw, tmp_path / "out")
    assert result.rows_read == 0
    assert pl.read_parquet(tmp_path / "out" / "tables" / "kq_trend.parquet").height == 0


def test_a_second_run_on_the_same_output_folder_is_refused(tmp_path: Path) -> None:
    import fcntl

    raw = _export(tmp_path, _rows())
    out = tmp_path / "out"
    out.mkdir()
    with (out / LOCK_NAME).open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # as a first run holds it
        with pytest.raises(UnusableInputError, match="another run is writing"):
            run_pipeline(raw, out)
    assert not (out / "cases.parquet").exists(), "the refused run wrote nothing"
    run_pipeline(raw, out)  # once the first run is done, the next goes ahead


def test_a_stale_wal_does_not_make_the_new_database_unopenable(tmp_path: Path) -> None:
    raw = _export(tmp_path, _rows())
    out = tmp_path / "out"
    run_pipeline(raw, out)
    (out / "probation.duckdb.wal").write_bytes(b"\x00" * 4096)  # left by a killed session
    run_pipeline(raw, out)
    con = duckdb.connect(str(out / "probation.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM cases").fetchall() == [(20,)]


def test_a_database_open_for_writing_elsewhere_stops_the_run_first(tmp_path: Path) -> None:
    raw = _export(tmp_path, _rows())
    out = tmp_path / "out"
    run_pipeline(raw, out)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('open', flush=True); "
         "time.sleep(60)", str(out / "probation.duckdb")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(UnusableInputError, match="open for writing in another program"):
            run_pipeline(raw, out, force=True)  # unchanged inputs: force the rebuild
    finally:
        holder.kill()
        holder.wait()


def test_an_output_folder_inside_the_input_folder_is_refused(tmp_path: Path) -> None:
    raw = _export(tmp_path, _rows())
    with pytest.raises(UnusableInputError, match="inside the input folder"):
        run_pipeline(raw, raw / "processed")


def test_an_output_path_that_is_a_file_is_refused_before_the_work(tmp_path: Path) -> None:
    raw = _export(tmp_path, _rows())
    target = tmp_path / "out.txt"
    target.write_text("not a folder")
    with pytest.raises(UnusableInputError, match="is a file"):
        run_pipeline(raw, target)


def test_blank_header_cells_do_not_stop_the_run(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    rows = _rows(4)
    header = ",".join(rows[0]) + ",,,note"
    lines = [header] + [",".join(v or "" for v in r.values()) + ",,,x" for r in rows]
    (raw / "trailing.csv").write_text("\n".join(lines) + "\n")
    result = run_pipeline(raw, tmp_path / "out")
    assert result.rows_accepted == 4


def test_files_that_are_not_read_are_named_with_the_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    raw = _export(tmp_path, _rows())
    (raw / "notes.docx").write_bytes(b"PK\x03\x04")
    (raw / "cases.csv.gz").write_bytes(b"\x1f\x8b")
    with caplog.at_level("INFO"):
        run_pipeline(raw, tmp_path / "out")
    text = caplog.text
    assert "skipped notes.docx: not a CSV, XLSX or Parquet file" in text
    assert "skipped cases.csv.gz: a compressed file" in text


def test_a_failed_write_leaves_no_staging_and_the_previous_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.outputs import database
    from pipeline.stages import store

    raw = _export(tmp_path, _rows())
    out = tmp_path / "out"
    run_pipeline(raw, out)
    before = (out / "cases.parquet").read_bytes()

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(database, "build_duckdb", disk_full)
    with pytest.raises(OSError, match="No space left"):
        run_pipeline(raw, out, force=True)  # unchanged inputs: force the rebuild
    assert not (out / store.STAGING).exists(), "the half-written staging folder is removed"
    assert (out / "cases.parquet").read_bytes() == before


def test_the_manifest_hash_is_of_the_bytes_ingested(tmp_path: Path) -> None:
    import hashlib
    import json

    raw = _export(tmp_path, _rows())
    data = (raw / "export.csv").read_bytes()
    run_pipeline(raw, tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    entry = next(i for i in manifest["inputs"] if i["path"] == "export.csv")
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()


def test_validate_with_the_same_file_twice_reads_it_once(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    raw = _export(tmp_path, _rows(3))
    path = str(raw / "export.csv")
    result = CliRunner().invoke(app, ["validate", path, path])
    assert result.exit_code == 0, result.output
    assert "read once" in result.output


def test_a_file_name_that_is_not_utf8_is_read_and_named(tmp_path: Path) -> None:
    import os

    raw = _export(tmp_path, _rows(3))
    odd = os.fsdecode(b"caf\xe9.csv")  # Latin-1 bytes in a name: not valid UTF-8
    (raw / "export.csv").rename(raw / odd)
    result = run_pipeline(raw, tmp_path / "out")
    assert result.rows_accepted == 3
    assert result.accounts[0].source_file == "caf\ufffd.csv"
    assert (tmp_path / "out" / "manifest.json").exists()


SLOW_RUN = """
import sys, time
from pathlib import Path
from pipeline.outputs import database
real = database.build_duckdb
seconds = float(sys.argv[3])
def slow(*args, **kwargs):
    print("building", flush=True)
    time.sleep(seconds)
    return real(*args, **kwargs)
database.build_duckdb = slow
from pipeline.cli import main
sys.argv = ["probation", "run", "--raw", sys.argv[1], "--out", sys.argv[2], "--quiet"]
main()
"""


def _slow_run(raw: Path, out: Path, seconds: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SLOW_RUN, str(raw), str(out), str(seconds)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_two_processes_on_one_output_folder_never_mix(tmp_path: Path) -> None:
    raw = _export(tmp_path, _rows(20))
    out = tmp_path / "out"
    first = _slow_run(raw, out, 4)
    assert first.stdout is not None
    assert first.stdout.readline().strip() == "building"
    other = _export(tmp_path / "b", _rows(7))
    with pytest.raises(UnusableInputError, match="another run is writing"):
        run_pipeline(other, out)
    assert first.wait(timeout=120) == 0, first.stderr.read() if first.stderr else ""
    assert pl.read_parquet(out / "cases.parquet").height == 20
    con = duckdb.connect(str(out / "probation.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM cases").fetchall() == [(20,)]


@pytest.mark.parametrize(("signal_name", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_during_the_database_build_exits_cleanly_and_keeps_the_outputs(
    tmp_path: Path, signal_name: str, code: int
) -> None:
    """Ctrl-C (SIGINT) and `kill` (SIGTERM, as a scheduler or a closing terminal sends) both
    end the run through its clean-up: exit 128 + signal, one plain line, no traceback, the
    previous outputs unchanged and no staging left (SIGTERM used to end the process at once)."""
    import signal

    raw = _export(tmp_path, _rows(20))
    out = tmp_path / "out"
    run_pipeline(raw, out)
    before = (out / "cases.parquet").read_bytes()
    write_csv(raw / "export.csv", _rows(9))
    run = _slow_run(raw, out, 30)
    assert run.stdout is not None
    assert run.stdout.readline().strip() == "building"
    run.send_signal(getattr(signal, signal_name))
    assert run.wait(timeout=60) == code
    stdout, stderr = run.communicate()
    assert "Traceback" not in stdout + stderr
    assert "the previous outputs are unchanged" in stdout + stderr
    assert (out / "cases.parquet").read_bytes() == before
    assert not (out / ".staging").exists()


def test_a_macro_enabled_workbook_is_read(tmp_path: Path) -> None:
    import xlsxwriter

    from pipeline.stages import ingest

    rows = _rows(3)
    book = xlsxwriter.Workbook(str(tmp_path / "cases.xlsx"))
    sheet = book.add_worksheet("cases")
    sheet.write_row(0, 0, list(rows[0]))
    for r, record in enumerate(rows, start=1):
        sheet.write_row(r, 0, [v or "" for v in record.values()])
    book.close()
    (tmp_path / "cases.xlsx").rename(tmp_path / "cases.xlsm")
    read = ingest.read_case_file(tmp_path / "cases.xlsm")
    assert read.error is None
    assert read.rows_read == 3
