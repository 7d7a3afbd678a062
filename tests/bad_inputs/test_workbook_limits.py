"""Workbooks that would make the Excel reader abort the process: stray cells far from the table in
every format it opens (OOXML, OpenDocument, Excel 97-2003), zip bombs, and the odd shapes real
workbooks take (1904 dates, zoned timestamps)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from pipeline.stages import ingest, sheet_limits
from tests.helpers import stray_cell_ods, stray_cell_xls, valid_row, write_csv


def test_a_stray_cell_far_away_is_refused_without_aborting(tmp_path: Path) -> None:
    """One cell at XFD1048576 made the Excel reader allocate hundreds of GiB and abort the
    process. Run in a child process, so an abort fails this test instead of the test run."""
    import subprocess
    import sys

    import xlsxwriter

    from tests.helpers import valid_row

    path = tmp_path / "stray.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("cases")
    row = valid_row()
    sheet.write_row(0, 0, list(row))
    sheet.write_row(1, 0, [v or "" for v in row.values()])
    sheet.write_string(1048575, 16383, "x")
    book.close()
    code = (
        "import sys; from pathlib import Path; from pipeline.stages import ingest; "
        f"r = ingest.read_case_file(Path({str(path)!r})); print(r.error); "
        "sys.exit(0 if r.error else 3)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-500:]
    assert "XFD1048576" in done.stdout
    assert "stray cell" in done.stdout


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            chunk = b"\0" * (64 * 1024**2)
            for _ in range(40):  # 2.5 GiB of zeros, a few MB packed
                part.write(chunk)
    assert path.stat().st_size < 20 * 1024**2
    read = ingest.read_case_file(path)
    assert read.error
    assert "would unpack to" in read.error


def test_parquet_with_zoned_timestamps_and_a_list_column_is_read(tmp_path: Path) -> None:
    import datetime as dt

    rows = [valid_row(case_id=str(i)) for i in range(2)]
    frame = (
        pl.DataFrame(rows)
        .with_columns(
            pl.col(c).str.to_date().cast(pl.Datetime("us", "UTC"))
            for c in ("fieldwork_start", "fieldwork_end", "start_date")
        )
        .with_columns(pl.Series("tags", [["a", "b"], ["c"]]))
    )
    frame.write_parquet(tmp_path / "p.parquet")
    read = ingest.read_case_file(tmp_path / "p.parquet")
    assert read.error is None
    assert read.frame is not None
    assert read.frame["fieldwork_start"].to_list() == ["2022-05-09"] * 2
    from pipeline.stages import validate

    result = validate.validate([read])
    assert result.accepted.height == 2
    assert result.accepted["start_date"].to_list() == [dt.date(2021, 11, 1)] * 2


def test_a_1904_date_system_workbook_gives_the_right_dates(tmp_path: Path) -> None:
    import datetime as dt

    from pipeline.stages import validate

    row = valid_row()
    book = xlsxwriter.Workbook(str(tmp_path / "mac.xlsx"), {"date_1904": True})
    sheet = book.add_worksheet("cases")
    sheet.write_row(0, 0, list(row))
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    for c, (name, value) in enumerate(row.items()):
        if name == "start_date":  # a bare serial number, counted from 1904
            sheet.write_number(1, c, (dt.date(2021, 11, 1) - dt.date(1904, 1, 1)).days)
        elif name == "fieldwork_start":  # a real date cell
            sheet.write_datetime(1, c, dt.datetime(2022, 5, 9), date_format)
        else:
            sheet.write_string(1, c, value or "")
    book.close()
    read = ingest.read_case_file(tmp_path / "mac.xlsx")
    assert read.date1904
    assert read.error is None
    accepted = validate.validate([read]).accepted
    assert accepted["start_date"].to_list() == [dt.date(2021, 11, 1)]
    assert accepted["fieldwork_start"].to_list() == [dt.date(2022, 5, 9)]


@pytest.mark.parametrize(
    "variant",
    [
        {},  # no <dimension> at all (it is optional)
        {"dimension": "A1:B2"},  # a dimension that understates the range
        {"dimension": "A1:XFD1048576", "padding": 5000},  # declared after the first 4 KB
        {"dimension": "A1:A1", "padding": 5000},  # understated and late
        {"positional": True},  # the far cell placed by position, with no reference
    ],
    ids=["no dimension", "understated", "late", "understated and late", "positional"],
)
def test_a_stray_cell_is_measured_not_taken_from_the_dimension(
    tmp_path: Path, variant: dict
) -> None:
    """A 4 KB workbook with one cell at XFD1048576 is refused from what the sheet holds, in a
    child process (an abort fails the test, not the test run), and the good CSV beside it is
    still read."""
    import subprocess
    import sys

    import polars as pl

    from tests.helpers import stray_cell_workbook, valid_row

    raw = tmp_path / "raw"
    raw.mkdir()
    book = stray_cell_workbook(raw / "stray.xlsx", **variant)
    assert book.stat().st_size < 4096
    rows = [valid_row(case_id=str(i), inspection_id=f"PDU-{i % 4}") for i in range(20)]
    write_csv(raw / "good.csv", rows)
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--raw", raw, "--out", tmp_path / "out"],
        capture_output=True, text=True, timeout=180, env={**os.environ, "COLUMNS": "400"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "stray.xlsx: not read" in done.stderr
    assert "XFD1048576" in done.stderr
    assert pl.read_parquet(tmp_path / "out" / "cases.parquet").height == 20


def _read_in_child(path: Path) -> subprocess.CompletedProcess[str]:
    """Read `path` with the pipeline's reader in a child process (an abort fails the test, not
    the test run); the child exits 0 when the file was refused with a message."""
    code = (
        "import sys; from pathlib import Path; from pipeline.stages import ingest; "
        f"r = ingest.read_case_file(Path({str(path)!r})); print(r.error); "
        "sys.exit(0 if r.error else 3)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("rows", "columns"),
    [(1_048_000, 16_000), (8_000, 8_000), (60_000, 1_000)],
    ids=["far", "64 million cells", "60 million cells"],
)
def test_an_opendocument_stray_cell_is_counted_and_refused(
    tmp_path: Path, rows: int, columns: int
) -> None:
    """OpenDocument declares no extent: rows and cells come with repeat counts. 8,000 x 8,000
    was read by the Excel reader (about 4 GB), the far one failed as "Cannot detect file
    format"; both are now refused with the cell named."""
    path = stray_cell_ods(tmp_path / "stray.ods", rows, columns)
    done = _read_in_child(path)
    assert done.returncode == 0, done.stderr[-500:]
    assert "stray cell far from the table" in done.stdout
    assert f"{(rows + 2) * (columns + 1):,} cells" in done.stdout


def test_a_small_opendocument_sheet_is_read(tmp_path: Path) -> None:
    path = stray_cell_ods(tmp_path / "near.ods", 10, 3)
    read = ingest.read_case_file(path)
    assert read.error is not None  # a contract error: the sheet holds only case_id
    assert "missing required column" in read.error
    assert read.rows_read == 11  # 10 empty rows and the row with x; the header is not a record


def test_a_legacy_workbook_that_would_abort_the_reader_is_refused(tmp_path: Path) -> None:
    """An .xls cell at row 60,001, column 65,001 aborted the process (SIGABRT); it is now opened
    first in a child with a memory limit, and refused here."""
    path = stray_cell_xls(tmp_path / "stray.xls")
    done = _read_in_child(path)
    assert done.returncode == 0, done.stderr[-500:]
    assert "stray cell far from the table" in done.stdout


def test_a_legacy_workbook_within_the_limit_is_read(tmp_path: Path) -> None:
    """The untouched workbook the stray one is made from reads (its header is not ours)."""
    import statsmodels

    source = Path(statsmodels.__file__).parent.joinpath(
        "tsa", "statespace", "tests", "results", "frbny_nowcast", "Nowcasting", "test_spec.xls"
    )
    read = ingest.read_case_file(source)
    assert read.error is not None
    assert "contract column" in read.error
    assert read.rows_read > 0


def test_the_legacy_probe_limit_is_enforced() -> None:
    """With a memory limit too small to open even a small workbook, the probe refuses it (the
    limit is real, not a declaration)."""
    import statsmodels

    source = Path(statsmodels.__file__).parent.joinpath(
        "tsa", "statespace", "tests", "results", "frbny_nowcast", "Nowcasting", "test_spec.xls"
    )
    sheet_limits.check_legacy_workbook(source.read_bytes())  # passes with the default
    with pytest.raises(sheet_limits.UnsafeWorkbook, match="stray cell"):
        sheet_limits.check_legacy_workbook(source.read_bytes(), memory=8 * 1024**2)
