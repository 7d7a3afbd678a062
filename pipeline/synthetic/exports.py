"""How each synthetic export departs from the canonical form, and the rows planted invalid.

Every departure is one the data contract tolerates (answer and boolean spellings, region
aliases, UK dates, header styles, Excel serial dates, encodings), plus a few rows that each
break exactly one contract rule, named by `domain.Rule` and listed in the sample manifest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import xlsxwriter

from pipeline import refdata
from pipeline.domain import DIPP_PROGRAMME, KEY_QUESTIONS, NEED_PREFIX, Rule

EXCEL_EPOCH = dt.date(1899, 12, 30)
FIXED_TIMESTAMP = dt.datetime(2021, 6, 26)  # stamped into XLSX metadata instead of 'now'


def _date_columns() -> tuple[str, ...]:
    return refdata.column_group("date")


def _answer_columns() -> tuple[str, ...]:
    """Answer columns with the key questions first: the order spelling variants are drawn in,
    fixed so that a seed always gives the same files."""
    answers = refdata.column_group("answer")
    return (
        *[c for c in answers if c in KEY_QUESTIONS],
        *[c for c in answers if c not in KEY_QUESTIONS],
    )


ANSWER_SPELLINGS = {
    "yes": ["Y", "Yes", "YES", " yes ", "TRUE", "1"],
    "no": ["N", "No", "NO", " no", "FALSE", "0"],
    "na": ["N/A", "NA", "n.a.", "N/A "],
}


@dataclass(frozen=True)
class ExportStyle:
    """How one export file is written."""

    file_name: str
    kind: str  # csv or xlsx
    encoding: str = "utf-8"  # utf-8, utf-8-sig or cp1252 for CSV
    header_style: str = "canonical"  # canonical, title, spaces or dotted (see _header)
    uk_dates: bool = False
    answer_style: dict[str, str] | None = None  # canonical -> this file's usual spelling
    variant_share: float = 0.03  # share of answer cells in a random tolerated spelling
    alias_share: float = 0.02  # share of region cells written as an alias
    serial_share: float = 0.0  # XLSX: share of date cells stored as bare serial numbers
    boolean_style: tuple[str, str] = ("true", "false")


EXPORTS: dict[str, ExportStyle] = {
    "crc_nps": ExportStyle("crc_nps_2018_2021.csv", "csv"),
    "pdu_2021": ExportStyle(
        "pdu_2021_2023.xlsx",
        "xlsx",
        header_style="title",
        answer_style={"yes": "Yes", "no": "No", "na": "N/A"},
        serial_share=0.03,
        boolean_style=("Yes", "No"),
    ),
    "pdu_regional_2023": ExportStyle(
        "pdu_regional_2023_2025.csv",
        "csv",
        encoding="utf-8-sig",
        header_style="spaces",
        uk_dates=True,
        answer_style={"yes": "Y", "no": "N", "na": "NA"},
        alias_share=0.15,
        boolean_style=("Y", "N"),
    ),
    "national_2024": ExportStyle("national_2024_25.xlsx", "xlsx"),
    DIPP_PROGRAMME: ExportStyle(
        "dipp_2025_26.csv",
        "csv",
        encoding="cp1252",
        header_style="dotted",
        answer_style={"yes": "Yes", "no": "No", "na": "N/A"},
        boolean_style=("TRUE", "FALSE"),
    ),
}


def _header(header_style: str, column: str) -> str:
    """A column name as a given export writes it (all map back to the contract name)."""
    if header_style == "title":
        return column.replace("_", " ").title()
    if header_style == "spaces":
        return column.replace("_", " ")
    if header_style == "dotted":
        return (
            column.replace("_", "-").upper()
            if column.endswith("_date")
            else (column.replace("_", ".").capitalize())
        )
    return column


INVALID_KINDS: tuple[Rule, ...] = (
    Rule.UNKNOWN_CODE,
    Rule.UNPARSEABLE_DATE,
    Rule.START_DATE_AFTER_FIELDWORK_END,
    Rule.FIELDWORK_START_AFTER_END,
    Rule.DUPLICATE_CASE,
    Rule.PROVIDER_INCONSISTENT_WITH_DATES,
    Rule.NO_KEY_QUESTION_ANSWERED,
)
"""The contract rules the generator breaks on purpose, one per planted row (names shared with
the validator through `domain.Rule`)."""


def _styled(frame: pl.DataFrame, style: ExportStyle, rng: np.random.Generator) -> pl.DataFrame:
    """Apply a file's usual spellings plus a share of random tolerated variants."""
    n = frame.height
    out = frame
    if style.answer_style:
        out = out.with_columns(
            pl.col(c).replace_strict(style.answer_style, default=pl.col(c))
            for c in _answer_columns()
        )
    needs_rng = rng.spawn(1)[0]  # the needs block's own stream: older columns keep theirs
    for c in _answer_columns():
        draw = needs_rng if c.startswith(NEED_PREFIX) else rng
        values = out[c].to_numpy().astype(object)
        pick = np.flatnonzero(
            (draw.random(n) < style.variant_share) & (frame[c].is_not_null().to_numpy())
        )
        canon = frame[c].to_numpy()[pick]
        values[pick] = [
            ANSWER_SPELLINGS[a][int(draw.integers(len(ANSWER_SPELLINGS[a])))] for a in canon
        ]
        out = out.with_columns(pl.Series(c, values.tolist(), dtype=pl.String))
    t, f = style.boolean_style
    out = out.with_columns(
        pl.col("da_concern", "cs_concern").replace_strict({"true": t, "false": f}, default=None)
    )
    # Region aliases as a real export would hold them.
    aliases = refdata.region_aliases()
    by_region: dict[str, list[str]] = {}
    for alias, region in sorted(aliases.items()):
        if alias != refdata.normalise_label(region):
            by_region.setdefault(region, []).append(alias)
    regions = out["region"].to_numpy().astype(object)
    pick = np.flatnonzero(rng.random(n) < style.alias_share)
    for i in pick:
        options = by_region.get(regions[i], [])
        if options:
            alias = options[int(rng.integers(len(options)))]
            regions[i] = alias.title() if rng.random() < 0.5 else alias.upper()
    out = out.with_columns(pl.Series("region", regions.tolist(), dtype=pl.String))
    if style.kind == "csv":
        fmt = "%d/%m/%Y" if style.uk_dates else "%Y-%m-%d"
        out = out.with_columns(pl.col(c).dt.strftime(fmt) for c in _date_columns())
    return out


def _date_text(d: dt.date, style: ExportStyle) -> str:
    return d.strftime("%d/%m/%Y" if style.uk_dates else "%Y-%m-%d")


def _inject_invalid(
    frame: pl.DataFrame, canonical: pl.DataFrame, style: ExportStyle, rng: np.random.Generator
) -> tuple[dict[str, list[Any]], dict[str, list[int]]]:
    """Add a few invalid rows, each a copy of a real row breaking exactly one contract rule.

    The planted rows are *extra*: every drawn case stays valid, so an inspection keeps its
    published size after quarantine (the national inspection: 165 cases). A planted row sits
    just after the row it copies and, except for the duplicate, has a case id of its own.
    Returns the columns as Python lists (an XLSX export may now hold text in a date column)
    and, per rule, the source rows planted (header = row 1, first data row = 2).
    """
    n = frame.height
    n_bad = max(len(INVALID_KINDS), round(0.0025 * n))
    sources = sorted(rng.choice(np.arange(n), size=min(n_bad, n), replace=False).tolist())
    columns = {c: frame[c].to_list() for c in frame.columns}
    rows: dict[str, list[Any]] = {c: [] for c in frame.columns}
    injected: dict[str, list[int]] = {str(k): [] for k in INVALID_KINDS}
    planted = dict(zip(sources, range(len(sources)), strict=True))
    for i in range(n):
        for c in rows:
            rows[c].append(columns[c][i])
        if i not in planted:
            continue
        j = planted[i]
        kind = INVALID_KINDS[j % len(INVALID_KINDS)]
        copy = {c: columns[c][i] for c in rows}
        if kind != Rule.DUPLICATE_CASE:
            copy["case_id"] = f"Q{j + 1:07d}"
        _corrupt(copy, kind, canonical.row(i, named=True), style)
        for c in rows:
            rows[c].append(copy[c])
        injected[str(kind)].append(len(rows["case_id"]) + 1)  # the header is row 1
    return rows, injected


def _corrupt(
    row: dict[str, Any], kind: Rule, canonical: dict[str, Any], style: ExportStyle
) -> None:
    """Make `row` break exactly the rule `kind` (dates written as the export writes them)."""
    as_written = (lambda d: d) if style.kind == "xlsx" else (lambda d: _date_text(d, style))
    fw_start, fw_end = canonical["fieldwork_start"], canonical["fieldwork_end"]
    if kind == Rule.UNKNOWN_CODE:
        row["rosh"] = "severe"
    elif kind == Rule.UNPARSEABLE_DATE:
        row["start_date"] = "31/02/2019" if style.kind == "csv" else "not known"
    elif kind == Rule.START_DATE_AFTER_FIELDWORK_END:
        row["start_date"] = as_written(fw_end + dt.timedelta(days=21))
    elif kind == Rule.FIELDWORK_START_AFTER_END:
        row["fieldwork_start"], row["fieldwork_end"] = row["fieldwork_end"], row["fieldwork_start"]
        # keep the case start before the (now earlier) fieldwork end
        row["start_date"] = as_written(fw_start - dt.timedelta(days=120))
    elif kind == Rule.PROVIDER_INCONSISTENT_WITH_DATES:
        row["provider"] = "PS" if fw_start < refdata.unification_date() else "CRC"
    elif kind == Rule.NO_KEY_QUESTION_ANSWERED:
        for kq in KEY_QUESTIONS:
            row[kq] = None
    # Rule.DUPLICATE_CASE: the copy itself, case id included, is the fault


def _write_csv(rows: dict[str, list[Any]], path: Path, style: ExportStyle) -> None:
    frame = pl.DataFrame(
        {_header(style.header_style, c): pl.Series(v, dtype=pl.String) for c, v in rows.items()}
    )
    text = frame.write_csv(line_terminator="\r\n" if style.encoding == "cp1252" else "\n")
    path.write_bytes(text.encode(style.encoding))


def _write_xlsx(
    rows: dict[str, list[Any]], path: Path, style: ExportStyle, rng: np.random.Generator
) -> None:
    """Write an XLSX export with real date cells (a few as bare serials) and fixed metadata."""
    wb = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "default_date_format": "dd/mm/yyyy"}
    )
    wb.set_properties(
        {
            "created": FIXED_TIMESTAMP,
            "author": "probation sample generator",
            "title": "Synthetic inspection case records (not real data)",
        }
    )
    if style.serial_share:  # a cover sheet first, so the reader must find the 'cases' sheet
        notes = wb.add_worksheet("notes")
        notes.write_string(0, 0, "Synthetic case records generated by `probation sample`.")
        notes.write_string(1, 0, "Not real data. Case rows are on the sheet named 'cases'.")
    ws = wb.add_worksheet("cases")
    columns = list(rows)
    ws.write_row(0, 0, [_header(style.header_style, c) for c in columns])
    date_idx = [columns.index(c) for c in _date_columns()]
    n = len(rows[columns[0]])
    serial = rng.random((n, len(date_idx))) < style.serial_share
    for r, row in enumerate(zip(*rows.values(), strict=True)):
        values = list(row)
        for k, ci in enumerate(date_idx):
            v = values[ci]
            if serial[r, k] and isinstance(v, dt.date):
                values[ci] = (v - EXCEL_EPOCH).days
        ws.write_row(r + 1, 0, values)
    wb.close()


def write_export(
    canonical: pl.DataFrame, style: ExportStyle, rng: np.random.Generator, path: Path
) -> dict[str, list[int]]:
    """Style one export's canonical cases, plant its invalid rows and write the file
    atomically; returns the planted rows per rule."""
    styled = _styled(canonical, style, rng)
    rows, injected = _inject_invalid(styled, canonical, style, rng)
    tmp = path.with_name(path.name + ".tmp")
    if style.kind == "csv":
        _write_csv(rows, tmp, style)
    else:
        _write_xlsx(rows, tmp, style, rng)
    tmp.replace(path)
    return injected
