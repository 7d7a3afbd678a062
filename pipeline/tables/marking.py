"""Marking a table's suppressed rows: what a suppressed row hides, and ratings that follow the
inspection cells they rest on. Shared by the analysis product (nothing suppressed, every row
marked so) and a release (rows suppressed by disclosure control)."""

from __future__ import annotations

import numpy as np
import polars as pl

BLANKED_PREFIXES = (
    "n_",
    "pct",
    "ci_",
    "diff_",
    "adjusted_",
    "design_effect",
    "p_value",
    "model_",
    "mdd",
    "significant",
    "icc",
    "low_reliability",
    "levels_only",
    "interval_",
    "months_apart",  # the bridge's: not case data, but a suppressed row shows only its keys
    "directly_comparable",
)


def blanked_columns(table: pl.DataFrame) -> list[str]:
    """Every count, percentage, interval and model column: what a suppressed row hides."""
    return [c for c in table.columns if c.startswith(BLANKED_PREFIXES)]


def apply(table: pl.DataFrame, suppressed: np.ndarray, reasons: np.ndarray) -> pl.DataFrame:
    """Blank the suppressed rows' numbers; add `suppressed` and `suppression` (the reason)."""
    hidden = pl.Series("suppressed", suppressed, dtype=pl.Boolean)
    return table.with_columns(
        *[pl.when(hidden).then(None).otherwise(pl.col(c)).alias(c) for c in blanked_columns(table)],
        hidden,
        pl.Series("suppression", reasons.tolist(), dtype=pl.String),
    )


def follow_inspection_cells(ratings: pl.DataFrame, by_inspection: pl.DataFrame) -> pl.DataFrame:
    """Ratings show each inspection's key-question percentages, so a rating row is suppressed
    wherever any of its key questions is suppressed in kq_by_inspection (same reason)."""
    hidden = (
        by_inspection.filter(pl.col("suppressed"))
        .group_by("inspection_id", pl.col("standard").cast(pl.String))
        .agg(
            pl.when((pl.col("suppression") == "primary").any())
            .then(pl.lit("primary"))
            .otherwise(pl.lit("complementary"))
            .alias("_reason")
        )
    )
    joined = ratings.join(hidden, on=["inspection_id", "standard"], how="left")
    small = pl.col("_reason").is_not_null()
    blank = [
        c for c in ratings.columns if c.startswith(("pct_", "lowest_", "n_applicable", "rating"))
    ]
    return joined.with_columns(
        *[pl.when(small).then(None).otherwise(pl.col(c)).alias(c) for c in blank],
        pl.when(small)
        .then(pl.lit("suppressed to protect the inspection's key-question cells"))
        .otherwise(pl.col("reason"))
        .alias("reason"),
        small.alias("suppressed"),
        pl.col("_reason").alias("suppression"),
    ).drop("_reason")
