"""Published figures: precision kept, ratings normalised, bad rows quarantined."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import polars as pl

from pipeline.config import PUBLISHED_DIR
from pipeline.stages import published_figures

HEADER = ",".join(published_figures.PUBLISHED_COLUMNS)


def _write(tmp_path: Path, lines: list[str]) -> Path:
    folder = tmp_path / "published"
    folder.mkdir()
    (folder / "p.csv").write_text(HEADER + "\n" + "\n".join(lines) + "\n")
    return folder


def _line(**values: str) -> str:
    row = dict.fromkeys(published_figures.PUBLISHED_COLUMNS, "")
    row.update(
        {
            "source_url": "https://example.org/r",
            "level": "pdu",
            "unit_name": "X PDU",
            "publication_date": "2024",
        }
    )
    row.update(values)
    return ",".join(f'"{row[c]}"' for c in published_figures.PUBLISHED_COLUMNS)


def test_real_compilation_is_fully_accepted() -> None:
    result = published_figures.read_published(PUBLISHED_DIR)
    assert result.rejected.height == 0
    # the compilation + the April 2025 national report + the Chief Inspector's two statements
    assert result.table.height == 295 + 54 + 2
    assert not result.table["synthetic"].any()
    # independent read with the csv module: rows per level and per rating agree
    rows = []
    for path in sorted(PUBLISHED_DIR.glob("*.csv")):
        with path.open(newline="") as fh:
            rows += list(csv.DictReader(fh))
    assert Counter(r["level"] for r in rows) == Counter(result.table["level"].cast(pl.String))
    assert Counter(r["rating"] for r in rows if r["rating"]) == Counter(
        result.table["rating"].drop_nulls().cast(pl.String)
    )


def test_date_precision_is_kept(tmp_path: Path) -> None:
    folder = _write(
        tmp_path,
        [
            _line(publication_date="2024"),
            _line(publication_date="2024-05", unit_name="Y PDU"),
            _line(publication_date="2024-05-09", unit_name="Z PDU"),
        ],
    )
    table = published_figures.read_published(folder).table.sort("unit_name")
    assert table["publication_date"].to_list() == ["2024", "2024-05", "2024-05-09"]
    assert table["publication_date_precision"].to_list() == ["year", "month", "day"]


def test_rating_labels_are_normalised(tmp_path: Path) -> None:
    folder = _write(
        tmp_path,
        [_line(rating="requires improvement"), _line(rating="RI"), _line(rating=" Inadequate ")],
    )
    table = published_figures.read_published(folder).table
    assert sorted(table["rating"].cast(pl.String)) == [
        "Inadequate",
        "Requires improvement",
        "Requires improvement",
    ]


def test_unknown_levels_and_ratings_are_quarantined(tmp_path: Path) -> None:
    folder = _write(
        tmp_path,
        [
            _line(level="prison"),
            _line(rating="Excellent"),
            _line(publication_date="Spring 2020"),
            _line(value_pct="lots"),
            _line(value_pct="120"),
            _line(),
        ],
    )
    result = published_figures.read_published(folder)
    assert result.table.height == 1
    assert result.rejected["reasons"].to_list() == [
        "unknown_code(level)",
        "unknown_code(rating)",
        "unparseable_date(publication_date)",
        "not_a_number(value_pct)",
        "value_out_of_range(value_pct)",
    ]
    [account] = result.accounts
    assert account["rows_read"] == account["rows_accepted"] + account["rows_rejected"] == 6
