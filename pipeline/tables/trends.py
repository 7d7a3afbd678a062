"""Trend tables: sufficiency per inspection, and per key question x scope x period."""

from __future__ import annotations

import polars as pl

from pipeline.config import Settings
from pipeline.domain import PERIOD_TYPES
from pipeline.tables.cells import (
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
    base = inspection_counts(context)
    keys = ["series", *KQ_COLUMNS, "scope", "period_type", "period"]
    table = pooled_cells(periods(scopes(base.lazy())), keys, kq_icc(base), z, settings)
    return ordered(table, ["series", "comparable_id", "scope", "period_type", "period"])


def inspection_counts(context: pl.LazyFrame, extra: tuple[str, ...] = ()) -> pl.DataFrame:
    """Answers counted per key question x inspection x region, with every period (and any
    `extra` inspection attribute) alongside: the grain every pooled table is summed from."""
    grain = ["series", *KQ_COLUMNS, "region", "inspection_id", *PERIOD_TYPES, *extra]
    return count_answers(context, grain).collect()


def kq_icc(base: pl.DataFrame) -> pl.DataFrame:
    """The intra-inspection correlation per series x key question, pooled over every
    inspection with region x programme strata (one estimate shared by the pooled tables)."""
    return pooled_icc(base, FAMILY, STRATA)


def pooled_cells(
    expanded: pl.LazyFrame,
    keys: list[str],
    icc: pl.DataFrame,
    z: float | None = None,
    settings: Settings | None = None,
) -> pl.DataFrame:
    """Counts summed to `keys`, with Wilson and clustered intervals and reliability flags."""
    counts = sum_counts(expanded, keys)
    clusters = cluster_columns(expanded, keys, icc, FAMILY)
    table = counts.join(clusters, on=keys, how="left", nulls_equal=True).collect()
    return with_cluster_interval(with_wilson(table, z=z), settings)
