"""Trend tables: sufficiency per inspection, and per key question x scope x period."""

from __future__ import annotations

import polars as pl

from pipeline.analysis.cells import (
    KQ_COLUMNS,
    cluster_columns,
    count_answers,
    ordered,
    periods,
    pooled_icc,
    scopes,
    sum_counts,
    with_cluster_interval,
    with_wilson,
)
from pipeline.config import Settings
from pipeline.domain import PERIOD_TYPES

FAMILY = ["series", "comparable_id"]
STRATA = ["region", "programme"]


def kq_by_inspection(
    context: pl.LazyFrame, inspections: pl.DataFrame, z: float | None = None
) -> pl.DataFrame:
    """Per inspection x key question: what an inspection report publishes (unsuppressed)."""
    keys = ["inspection_id", *KQ_COLUMNS]
    counts = count_answers(context, keys).collect()
    table = with_wilson(counts, z=z).join(
        inspections.select(
            "inspection_id",
            "unit_name",
            "inspection_type",
            "framework",
            "programme",
            "era",
            "region",
            "fieldwork_start",
            "publication_year",
        ),
        on="inspection_id",
        how="left",
    )
    return ordered(table, ["fieldwork_start", "inspection_id", "key_question"])


def kq_trend(
    context: pl.LazyFrame, z: float | None = None, settings: Settings | None = None
) -> pl.DataFrame:
    """Key question (comparable id) x scope x period, for several period types, with the
    clustered (Korn-Graubard, pooled design effect) interval and the Wilson interval that
    ignores clustering. Safety sufficiency over time is the headline series.

    Answers are first counted per inspection at the finest grain (every period type at once),
    so the expansion to scopes and period types works on thousands of rows, not millions.
    """
    grain = ["series", *KQ_COLUMNS, "region", "inspection_id", *PERIOD_TYPES]
    base = count_answers(context, grain).collect()
    icc = pooled_icc(base, FAMILY, STRATA)
    expanded = periods(scopes(base.lazy()))
    keys = ["series", *KQ_COLUMNS, "scope", "period_type", "period"]
    counts = sum_counts(expanded, keys)
    clusters = cluster_columns(expanded, keys, icc, FAMILY)
    table = counts.join(clusters, on=keys, how="left", nulls_equal=True).collect()
    table = with_cluster_interval(with_wilson(table, z=z), settings)
    return ordered(table, ["series", "comparable_id", "scope", "period_type", "period"])
