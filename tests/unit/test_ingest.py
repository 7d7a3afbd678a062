"""Ingest: file discovery, encodings, sheets, header matching, whole-file rejection."""

from __future__ import annotations

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
