"""Published figures: real inspection results (ratings, percentages) into a normalised table.

Input is the long published-aggregates layout (one row per published number). Dates keep the
precision the source gave (a year stays a year: no day is invented); rating labels are
normalised to the four-point scale; rows with unknown levels or ratings, unparseable dates or
numbers are quarantined with reasons, as case rows are. Everything here is real, published data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl

from pipeline import refdata

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
NUMERIC = ("value_pct", "numerator", "denominator", "n_cases")
DATES = ("publication_date", "period_start", "period_end")
RATING = pl.Enum(["Outstanding", "Good", "Requires improvement", "Inadequate"])
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
    accounts: list[dict]


@cache
def rating_aliases() -> dict[str, str]:
    """Lower-cased rating spellings -> the four canonical labels."""
    df = pl.read_csv(refdata.REFERENCE_DIR / "rating_aliases.csv", infer_schema_length=0)
    return dict(df.iter_rows())


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


def normalise(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split raw published rows (text) into the normalised table and quarantined rows."""
    levels = refdata.codes()["published_level"]
    aliases = refdata.region_aliases()
    region_key = refdata.normalise_label_expr(_clean("region"))
    frame = raw.with_columns(
        *[e for c in DATES for e in _date_parts(c)],
        _clean("level").str.to_lowercase().alias("n__level"),
        _clean("rating")
        .str.to_lowercase()
        .replace_strict(rating_aliases(), default=None)
        .alias("n__rating"),
        *[_clean(c).cast(pl.Float64, strict=False).alias(f"n__{c}") for c in NUMERIC],
        region_key.replace_strict(aliases, default=None).alias("n__region"),
    )
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
    frame = frame.with_columns(pl.concat_list(reasons).list.drop_nulls().alias("reasons"))
    ok = frame["reasons"].list.len() == 0
    rejected = frame.filter(~ok).select(
        "source_file", "source_row", pl.col("reasons").list.join("; "), *PUBLISHED_COLUMNS
    )
    good = frame.filter(ok)
    is_dipp = pl.col("unit_name").str.contains("(?i)dynamic inspection")
    inspection_type = (
        pl.when(is_dipp)
        .then(pl.lit("dipp"))
        .otherwise(pl.col("n__level").replace_strict(LEVEL_TO_TYPE, default=None))
    )
    unification = refdata.unification_date()
    era = (
        pl.when(pl.col("n__level").is_in(["crc", "nps_division"]))
        .then(pl.lit("pre_unification"))
        .when(pl.col("n__level").is_in(["pdu", "region", "national"]))
        .then(pl.lit("post_unification"))
        .when(pl.col("publication_date_first_day") >= unification)
        .then(pl.lit("post_unification"))
        .otherwise(pl.lit("pre_unification"))
    )
    table = good.select(
        "source_url",
        "source_title",
        _clean("publication_date").alias("publication_date"),
        "publication_date_precision",
        "publication_date_first_day",
        pl.col("publication_date_first_day").dt.year().cast(pl.Int16).alias("publication_year"),
        pl.col("n__level").cast(pl.Enum(levels)).alias("level"),
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
        *[pl.col(f"n__{c}").alias(c) for c in NUMERIC],
        pl.col("n__rating").cast(RATING).alias("rating"),
        _clean("notes").alias("notes"),
        pl.lit(False).alias("synthetic"),
        pl.lit("published").alias("data_source"),
        "source_file",
        "source_row",
    ).sort(
        "publication_date_first_day",
        "unit_name",
        "standard",
        "key_question",
        "source_file",
        "source_row",
        nulls_last=True,
    )
    return table, rejected


def read_published(published_dir: Path, raw_dir: Path | None = None) -> PublishedResult:
    """Read every `*.csv` in `published_dir`; a folder that does not exist gives empty tables."""
    frames, accounts = [], []
    files = sorted(published_dir.glob("*.csv")) if published_dir.is_dir() else []
    for path in files:
        name = path.relative_to(raw_dir).as_posix() if raw_dir else path.name
        try:
            frame = pl.read_csv(path, infer_schema_length=0)
        except Exception as exc:
            accounts.append(
                {
                    "source_file": name,
                    "rows_read": 0,
                    "rows_accepted": 0,
                    "rows_rejected": 0,
                    "file_error": f"could not be read: {exc}",
                }
            )
            continue
        frame = frame.rename({c: c.strip().lower() for c in frame.columns})
        missing = [c for c in PUBLISHED_COLUMNS if c not in frame.columns]
        if missing:
            accounts.append(
                {
                    "source_file": name,
                    "rows_read": frame.height,
                    "rows_accepted": 0,
                    "rows_rejected": frame.height,
                    "file_error": f"missing column(s): {', '.join(missing)}",
                }
            )
            continue
        frames.append(
            frame.select(
                pl.lit(name).alias("source_file"),
                (pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias("source_row"),
                *[pl.col(c).cast(pl.String) for c in PUBLISHED_COLUMNS],
            )
        )
        accounts.append({"source_file": name, "rows_read": frame.height})
    schema = {
        "source_file": pl.String,
        "source_row": pl.Int64,
        **dict.fromkeys(PUBLISHED_COLUMNS, pl.String),
    }
    raw = (
        pl.concat([pl.DataFrame(schema=schema), *frames]) if frames else pl.DataFrame(schema=schema)
    )
    table, rejected = normalise(raw)
    for account in accounts:
        if "rows_accepted" in account:
            continue
        account["rows_accepted"] = table.filter(
            pl.col("source_file") == account["source_file"]
        ).height
        account["rows_rejected"] = rejected.filter(
            pl.col("source_file") == account["source_file"]
        ).height
        account["file_error"] = None
    for account in accounts:
        if account["rows_read"] != account["rows_accepted"] + account["rows_rejected"]:
            raise RuntimeError(f"published accounting does not add up for {account['source_file']}")
    return PublishedResult(table=table, rejected=rejected, accounts=accounts)
