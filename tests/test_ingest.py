"""Ingest: file discovery, encodings, sheets, header matching, whole-file rejection."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from pipeline.stages import ingest
from tests.helpers import rows_frame, valid_row, write_csv


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        ("Inspection ID", "inspection_id"),
        ("fieldwork-start", "fieldwork_start"),
        ("Case.ID", "case_id"),
        ("  RoSH ", "rosh"),
        ("\ufeffinspection_id", "inspection_id"),
        ("PUBLICATION-DATE", "publication_date"),
        ("Age band", "age_band"),
    ],
)
def test_canonical_header(header: str, canonical: str) -> None:
    assert ingest.canonical_header(header) == canonical


def test_find_case_files_skips_published_hidden_and_lock_files(tmp_path: Path) -> None:
    for name in [
        "b.csv",
        "a/x.xlsx",
        "c.parquet",
        "published/p.csv",
        ".hidden.csv",
        "~$open.xlsx",
        "notes.txt",
        "README.md",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    found = [p.relative_to(tmp_path).as_posix() for p in ingest.find_case_files(tmp_path)]
    assert found == ["a/x.xlsx", "b.csv", "c.parquet"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_encodings(tmp_path: Path, encoding: str) -> None:
    text = rows_frame([valid_row(unit_name="Siân's Zoë PDU")]).write_csv()
    path = tmp_path / "e.csv"
    path.write_bytes(text.encode(encoding))
    read = ingest.read_case_file(path)
    assert read.error is None
    assert read.frame is not None
    assert read.frame["unit_name"][0] == "Siân's Zoë PDU"
    assert read.encoding == encoding


def test_rows_keep_provenance(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [valid_row(case_id="1"), valid_row(case_id="2")])
    read = ingest.read_case_file(path, tmp_path)
    assert read.frame is not None
    assert read.frame["source_row"].to_list() == [2, 3]  # header is row 1
    assert read.frame["source_file"].to_list() == ["p.csv", "p.csv"]


def test_missing_required_columns_reject_the_whole_file(tmp_path: Path) -> None:
    frame = rows_frame([valid_row()]).drop("case_id", "rosh")
    path = tmp_path / "m.csv"
    frame.write_csv(path)
    read = ingest.read_case_file(path)
    assert read.rejected
    assert read.frame is None
    assert read.rows_read == 1
    assert "missing required column(s): case_id, rosh" in (read.error or "")
    assert "'inspection_id'" in (read.error or "")  # the columns it did find are listed


def test_duplicate_columns_after_matching_reject_the_file(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    text = rows_frame([valid_row()]).write_csv()
    header, body = text.split("\n", 1)
    path.write_text(header + ",Case ID\n" + body.replace("\n", ",X\n", 1))
    read = ingest.read_case_file(path)
    assert read.rejected
    assert "case_id" in (read.error or "")


def test_unreadable_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"this is not a zip file")
    read = ingest.read_case_file(path)
    assert read.rejected
    assert "could not be read" in (read.error or "")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("")
    read = ingest.read_case_file(path)
    assert read.rejected
    assert read.rows_read == 0


def test_extra_columns_are_reported_and_ignored(tmp_path: Path) -> None:
    frame = rows_frame([valid_row()]).with_columns(pl.lit("x").alias("Inspector notes"))
    path = tmp_path / "x.csv"
    frame.write_csv(path)
    read = ingest.read_case_file(path)
    assert read.unmapped_columns == ["Inspector notes"]
    assert read.frame is not None
    assert "inspector_notes" not in read.frame.columns


def _write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> None:
    wb = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            ws.write_row(r, 0, row)
    wb.close()


def test_xlsx_uses_the_cases_sheet_else_the_first(tmp_path: Path) -> None:
    frame = rows_frame([valid_row()])
    table = [frame.columns, list(frame.row(0))]
    _write_xlsx(tmp_path / "a.xlsx", {"About": [["notes"]], "Cases": table})
    read = ingest.read_case_file(tmp_path / "a.xlsx")
    assert read.sheet == "Cases"
    assert read.frame is not None
    assert read.frame.height == 1
    _write_xlsx(tmp_path / "b.xlsx", {"Sheet1": table, "Other": [["x"]]})
    read = ingest.read_case_file(tmp_path / "b.xlsx")
    assert read.sheet == "Sheet1"
    assert read.rows_read == 1


def test_parquet_with_typed_columns(tmp_path: Path) -> None:
    frame = rows_frame([valid_row()]).with_columns(
        pl.col("fieldwork_start", "fieldwork_end", "start_date", "publication_date").str.to_date(),
        pl.col("mappa_level").cast(pl.Int64),
        pl.col("da_concern") == "true",
    )
    path = tmp_path / "t.parquet"
    frame.write_parquet(path)
    read = ingest.read_case_file(path)
    assert read.error is None
    assert read.frame is not None
    row = read.frame.row(0, named=True)
    assert row["fieldwork_start"] == "2022-05-09"
    assert row["mappa_level"] == "0"
    assert row["da_concern"] == "true"


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


def _csv_text(rows: list[dict], separator: str = ",") -> str:
    header = separator.join(rows[0])
    return "\n".join([header, *[separator.join(v or "" for v in r.values()) for r in rows]])


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("title line", lambda t: ("Case export, Wales, March 2024\n" + t).encode()),
        ("Excel sep= line", lambda t: ("sep=;\n" + t.replace(",", ";")).encode()),
        ("CR-only line endings", lambda t: t.replace("\n", "\r").encode()),
        ("UTF-16 with BOM", lambda t: t.encode("utf-16")),
    ],
)
def test_real_world_csv_shapes_are_read(tmp_path: Path, name: str, make: Callable) -> None:
    rows = [valid_row(case_id=str(i)) for i in range(3)]
    (tmp_path / "e.csv").write_bytes(make(_csv_text(rows)))
    read = ingest.read_case_file(tmp_path / "e.csv")
    assert read.error is None, (name, read.error)
    assert read.frame is not None, name
    assert read.frame.height == 3, name
    assert read.frame["case_id"].to_list() == ["0", "1", "2"], name


def test_a_csv_mixing_utf8_and_windows_1252_lines_keeps_both_names(tmp_path: Path) -> None:
    rows = [valid_row(case_id="1", unit_name="Gwynedd Môn"), valid_row(case_id="2")]
    text = _csv_text(rows).split("\n")
    data = (
        "\n".join(text[:2]).encode("utf-8")
        + b"\n"
        + text[2].replace("Test PDU", "Caf\u00e9 PDU").encode("cp1252")
    )
    (tmp_path / "m.csv").write_bytes(data)
    read = ingest.read_case_file(tmp_path / "m.csv")
    assert read.encoding == "mixed utf-8 and cp1252"
    assert read.frame is not None
    assert sorted(read.frame["unit_name"].to_list()) == ["Caf\u00e9 PDU", "Gwynedd Môn"]


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

    from tests.helpers import stray_cell_workbook, valid_row, write_csv

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
