"""Derive: analysis fields computed once from accepted, normalised case records.

Periods follow UK official-statistics conventions: the financial year runs April to March and is
labelled '2021-22'. Every period is taken from the fieldwork start (when the practice was seen);
the publication year is kept alongside because reports are often cited by it.
"""

from __future__ import annotations

import polars as pl

from pipeline import refdata
from pipeline.domain import ERA


def _programme() -> pl.Expr:
    table = refdata.programmes()
    mapping = {
        f"{t}|{f}": p
        for t, f, p in table.select("inspection_type", "framework", "programme").iter_rows()
    }
    key = pl.concat_str(
        pl.col("inspection_type").cast(pl.String), pl.lit("|"), pl.col("framework").cast(pl.String)
    )
    labels = [*dict.fromkeys(table.sort("order")["programme"].to_list()), "unclassified"]
    return key.replace_strict(mapping, default="unclassified").cast(pl.Enum(labels))


def financial_year(date: pl.Expr) -> pl.Expr:
    """'2021-22' for any date from 1 April 2021 to 31 March 2022."""
    start = date.dt.year() - (date.dt.month() < 4).cast(pl.Int32)
    return pl.format("{}-{}", start, ((start + 1) % 100).cast(pl.String).str.zfill(2))


def derive(accepted: pl.LazyFrame) -> pl.LazyFrame:
    """Add era, programme and period fields to accepted case records."""
    unification = refdata.unification_date()
    start = pl.col("fieldwork_start")
    return accepted.with_columns(
        pl.when(start < unification)
        .then(pl.lit("pre_unification"))
        .otherwise(pl.lit("post_unification"))
        .cast(ERA)
        .alias("era"),
        _programme().alias("programme"),
        start.dt.year().cast(pl.Int16).alias("calendar_year"),
        financial_year(start).alias("financial_year"),
        pl.format("{}-H{}", start.dt.year(), ((start.dt.month() - 1) // 6 + 1)).alias("half_year"),
        pl.format("{}-Q{}", start.dt.year(), start.dt.quarter()).alias("quarter"),
        pl.col("publication_date").dt.year().cast(pl.Int16).alias("publication_year"),
    )
