"""Published figures: real inspection results (ratings, percentages) into a normalised table.

Input is the long published-aggregates layout (one row per published number). Dates keep the
precision the source gave (a year stays a year: no day is invented); rating labels are
normalised to the four-point scale; rows with unknown levels or ratings, unparseable dates or
numbers are quarantined with reasons, as case rows are. Everything here is real, published data.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pipeline import refdata
from pipeline.domain import RATING
from pipeline.stages.ingest import read_regular

log = logging.getLogger(__name__)

PUBLISHED_COLUMNS = (
    "source_url",
    "source_title",
    "publication_date",
    "level",
    "unit_name",
    "region",
    "period_start",
    "period_end",
    "standard",
    "key_question",
    "value_pct",
    "numerator",
    "denominator",
    "n_cases",
    "rating",
    "notes",
)
OPTIONAL_COLUMNS = ("wording",)
"""Columns a published-figures file may add: `wording`, the verbatim text of the key question
(or prompt) the figure answers, where the source prints it."""
NUMERIC = ("value_pct", "numerator", "denominator", "n_cases")
DATES = ("publication_date", "period_start", "period_end")
LEVEL_TO_TYPE = {
    "national": "national",
    "region": "regional",
    "pdu": "pdu",
    "crc": "crc",
    "nps_division": "nps",
}


@dataclass
class PublishedResult:
    """Normalised published figures, quarantined rows, and per-file accounting."""

    table: pl.DataFrame
    rejected: pl.DataFrame
    accounts: list[dict[str, Any]]


def _clean(column: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _date_parts(column: str) -> list[pl.Expr]:
    """Precision ('year', 'month', 'day') and the first day of the period the text names."""
    text = _clean(column)
    precision = (
        pl.when(text.str.contains(r"^\d{4}$"))
        .then(pl.lit("year"))
        .when(text.str.contains(r"^\d{4}-\d{2}$"))
        .then(pl.lit("month"))
        .when(text.str.contains(r"^\d{4}-\d{2}-\d{2}$"))
        .then(pl.lit("day"))
        .when(text.is_null())
        .then(pl.lit("missing"))
    )
    padded = (
        pl.when(precision == "year")
        .then(text + "-01-01")
        .when(precision == "month")
        .then(text + "-01")
        .otherwise(text)
    )
    return [
        precision.alias(f"{column}_precision"),
        padded.str.to_date("%Y-%m-%d", strict=False).alias(f"{column}_first_day"),
    ]


def _normalised_columns(raw: pl.DataFrame) -> pl.DataFrame:
    """Raw rows plus date parts and normalised level, rating, numbers and region (`n__`)."""
    region_key = refdata.normalise_label_expr(_clean("region"))
    return raw.with_columns(
        *[e for c in DATES for e in _date_parts(c)],
        _clean("level").str.to_lowercase().alias("n__level"),
        _clean("rating")
        .str.to_lowercase()
        .replace_strict(refdata.rating_aliases(), default=None)
        .alias("n__rating"),
        *[_clean(c).cast(pl.Float64, strict=False).alias(f"n__{c}") for c in NUMERIC],
        region_key.replace_strict(refdata.region_aliases(), default=None).alias("n__region"),
    )


def _reasons() -> pl.Expr:
    """Every reason a published row cannot be used, as a list (empty when it can)."""
    levels = refdata.codes()["published_level"]
    reasons = [
        pl.when(pl.col("n__level").is_null() | ~pl.col("n__level").is_in(levels)).then(
            pl.lit("unknown_code(level)")
        ),
        pl.when(_clean("rating").is_not_null() & pl.col("n__rating").is_null()).then(
            pl.lit("unknown_code(rating)")
        ),
        *[
            pl.when(_clean(c).is_not_null() & pl.col(f"{c}_first_day").is_null()).then(
                pl.lit(f"unparseable_date({c})")
            )
            for c in DATES
        ],
        *[
            pl.when(_clean(c).is_not_null() & pl.col(f"n__{c}").is_null()).then(
                pl.lit(f"not_a_number({c})")
            )
            for c in NUMERIC
        ],
        pl.when(~pl.col("n__value_pct").is_between(0, 100)).then(
            pl.lit("value_out_of_range(value_pct)")
        ),
        pl.when(_clean("unit_name").is_null()).then(pl.lit("missing_value(unit_name)")),
    ]
    return pl.concat_list(reasons).list.drop_nulls()


def _inspection_type_and_era() -> tuple[pl.Expr, pl.Expr]:
    """Inspection type from the level (dynamic inspections named as such), and the era: CRC
    and NPS figures are pre-unification, PDU, regional and national ones post; otherwise the
    publication date decides."""
    is_dipp = pl.col("unit_name").str.contains("(?i)dynamic inspection")
    inspection_type = (
        pl.when(is_dipp)
        .then(pl.lit("dipp"))
        .otherwise(pl.col("n__level").replace_strict(LEVEL_TO_TYPE, default=None))
    )
    era = (
        pl.when(pl.col("n__level").is_in(["crc", "nps_division"]))
        .then(pl.lit("pre_unification"))
        .when(pl.col("n__level").is_in(["pdu", "region", "national"]))
        .then(pl.lit("post_unification"))
        .when(pl.col("publication_date_first_day") >= refdata.unification_date())
        .then(pl.lit("post_unification"))
        .otherwise(pl.lit("pre_unification"))
    )
    return inspection_type, era


def _published_table(good: pl.DataFrame) -> pl.DataFrame:
    """The normalised published-figures table from rows that passed every check."""
    inspection_type, era = _inspection_type_and_era()
    table = good.select(
        "source_url",
        "source_title",
        _clean("publication_date").alias("publication_date"),
        "publication_date_precision",
        "publication_date_first_day",
        pl.col("publication_date_first_day").dt.year().cast(pl.Int16).alias("publication_year"),
        pl.col("n__level").cast(pl.Enum(refdata.codes()["published_level"])).alias("level"),
        inspection_type.alias("inspection_type"),
        era.alias("era"),
        "unit_name",
        pl.col("region").alias("region_as_published"),
        pl.col("n__region").cast(pl.Enum(refdata.region_names())).alias("region"),
        _clean("period_start").alias("period_start"),
        "period_start_precision",
        _clean("period_end").alias("period_end"),
        "period_end_precision",
        _clean("standard").alias("standard"),
        _clean("key_question").alias("key_question"),
        _clean("wording").alias("wording"),
        *[pl.col(f"n__{c}").alias(c) for c in NUMERIC],
        pl.col("n__rating").cast(RATING).alias("rating"),
        _clean("notes").alias("notes"),
        pl.lit(False).alias("synthetic"),
        pl.lit("published").alias("data_source"),
        "source_file",
        "source_row",
    )
    return table.sort(
        "publication_date_first_day",
        "unit_name",
        "standard",
        "key_question",
        "source_file",
        "source_row",
        nulls_last=True,
    )


def normalise(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split raw published rows (text) into the normalised table and quarantined rows."""
    frame = _normalised_columns(raw).with_columns(_reasons().alias("reasons"))
    ok = frame["reasons"].list.len() == 0
    rejected = frame.filter(~ok).select(
        "source_file",
        "source_row",
        pl.col("reasons").list.join("; "),
        *PUBLISHED_COLUMNS,
        *OPTIONAL_COLUMNS,
    )
    return _published_table(frame.filter(ok)), rejected


def _read_file(path: Path, name: str) -> tuple[pl.DataFrame | None, dict[str, Any]]:
    """One published-figures CSV as text with provenance, and its accounting entry (complete
    when the file is rejected whole, otherwise filled in after normalisation)."""
    try:
        frame = pl.read_csv(io.BytesIO(read_regular(path)), infer_schema_length=0)
    except Exception as exc:
        error = f"could not be read: {exc}"
        return None, _account(name, 0, 0, 0, error)
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    missing = [c for c in PUBLISHED_COLUMNS if c not in frame.columns]
    if missing:
        error = f"missing column(s): {', '.join(missing)}"
        return None, _account(name, frame.height, 0, frame.height, error)
    rows = frame.select(
        pl.lit(name).alias("source_file"),
        (pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias("source_row"),
        *[pl.col(c).cast(pl.String) for c in PUBLISHED_COLUMNS],
        *[
            (pl.col(c) if c in frame.columns else pl.lit(None)).cast(pl.String).alias(c)
            for c in OPTIONAL_COLUMNS
        ],
    )
    return rows, {"source_file": name, "rows_read": frame.height}


def _account(
    name: str, read: int, accepted: int, rejected: int, error: str | None
) -> dict[str, Any]:
    return {
        "source_file": name,
        "rows_read": read,
        "rows_accepted": accepted,
        "rows_rejected": rejected,
        "file_error": error,
    }


def read_published(published_dir: Path, raw_dir: Path | None = None) -> PublishedResult:
    """Read every `*.csv` in `published_dir`; a folder that does not exist gives empty tables."""
    frames, accounts = [], []
    files = sorted(published_dir.glob("*.csv")) if published_dir.is_dir() else []
    for path in files:
        name = path.relative_to(raw_dir).as_posix() if raw_dir else path.name
        frame, account = _read_file(path, name)
        if frame is not None:
            frames.append(frame)
        accounts.append(account)
    schema = {
        "source_file": pl.String,
        "source_row": pl.Int64,
        **dict.fromkeys((*PUBLISHED_COLUMNS, *OPTIONAL_COLUMNS), pl.String),
    }
    table, rejected = normalise(pl.concat([pl.DataFrame(schema=schema), *frames]))
    accepted_by_file = dict(table.group_by("source_file").len().iter_rows())
    rejected_by_file = dict(rejected.group_by("source_file").len().iter_rows())
    for i, account in enumerate(accounts):
        if "rows_accepted" not in account:
            name = account["source_file"]
            accounts[i] = _account(
                name,
                account["rows_read"],
                accepted_by_file.get(name, 0),
                rejected_by_file.get(name, 0),
                None,
            )
        a = accounts[i]
        if a["rows_read"] != a["rows_accepted"] + a["rows_rejected"]:
            raise RuntimeError(f"published accounting does not add up for {a['source_file']}")
    return PublishedResult(table=table, rejected=rejected, accounts=accounts)
