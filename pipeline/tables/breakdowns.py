"""Breakdowns: sufficiency by case and practitioner characteristics."""

from __future__ import annotations

import polars as pl

from pipeline.config import Settings
from pipeline.domain import NATIONAL, SUBGROUPS
from pipeline.tables.cells import (
    KQ_COLUMNS,
    cluster_columns,
    count_answers,
    ordered,
    pooled_icc,
    sum_counts,
    with_cluster_interval,
    with_wilson,
)

FAMILY = ["series", "comparable_id"]
STRATA = ["region", "programme"]


def subgroups(
    context: pl.LazyFrame, z: float | None = None, settings: Settings | None = None
) -> pl.DataFrame:
    """Sufficiency by RoSH, case type, gender, ethnicity, age band and MAPPA level, for each
    key question, series and era (England and Wales), with clustered and Wilson intervals."""
    grain = ["series", *KQ_COLUMNS, "era", "region", "programme", "inspection_id", *SUBGROUPS]
    base = count_answers(context, grain).collect()
    icc = pooled_icc(
        sum_counts(base.lazy(), [*FAMILY, "region", "programme", "inspection_id"]).collect(),
        FAMILY,
        STRATA,
    )
    parts = [
        base.lazy().with_columns(
            pl.lit(variable).alias("subgroup"),
            pl.col(variable).cast(pl.String).fill_null("not recorded").alias("subgroup_value"),
        )
        for variable in SUBGROUPS
    ]
    frame = pl.concat(parts, how="diagonal_relaxed")
    keys = ["series", *KQ_COLUMNS, "era", "subgroup", "subgroup_value"]
    counts = sum_counts(frame, keys)
    clusters = cluster_columns(frame, keys, icc, FAMILY)
    table = counts.join(clusters, on=keys, how="left", nulls_equal=True).collect()
    table = with_cluster_interval(with_wilson(table, z=z), settings)
    return ordered(table.with_columns(pl.lit(NATIONAL).alias("scope")), keys)
