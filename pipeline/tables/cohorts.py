"""Cohorts: named selections of inspections (by type, programme, fieldwork or publication
window), tabulated like the trend series.

Research often cites a cohort defined by when reports were *published*: the March 2025
bulletin's 35 % rests on 1,748 cases from inspections published between February 2022 and
August 2023. Periods in `kq_trend` follow fieldwork, so that figure needs its own selection.
Cohorts live in reference/cohorts.csv (and any file passed to `probation run --cohorts`); each
becomes rows of `kq_cohort`, nationally and per region, under the same disclosure control.
"""

from __future__ import annotations

import polars as pl

from pipeline.config import Settings
from pipeline.tables.cells import KQ_COLUMNS, ordered, scopes
from pipeline.tables.trends import inspection_counts, kq_icc, pooled_cells

KEYS = ["cohort", "series", *KQ_COLUMNS, "scope"]


def _within(column: str, low: str, high: str) -> pl.Expr:
    """No bound set, or the inspection's date lies within the set bounds (inclusive)."""
    after = pl.col(low).is_null() | (pl.col(column) >= pl.col(low))
    before = pl.col(high).is_null() | (pl.col(column) <= pl.col(high))
    return after & before


def members(inspections: pl.DataFrame, cohorts: pl.DataFrame) -> pl.DataFrame:
    """(inspection_id, cohort) for every inspection a cohort selects. A bound that is set
    excludes inspections without the date (e.g. no publication date)."""
    listed = [
        ("inspection_types", "inspection_type"),
        ("programmes", "programme"),
    ]
    selected = inspections.select(
        "inspection_id",
        pl.col("inspection_type").cast(pl.String),
        pl.col("programme").cast(pl.String),
        "fieldwork_start",
        "publication_date",
    ).join(cohorts, how="cross")
    conditions = [
        pl.col(lists).is_null() | pl.col(lists).list.contains(pl.col(column))
        for lists, column in listed
    ]
    conditions += [
        _within("fieldwork_start", "fieldwork_from", "fieldwork_to"),
        _within("publication_date", "published_from", "published_to"),
    ]
    return selected.filter(pl.all_horizontal(conditions).fill_null(False)).select(
        "inspection_id", "cohort"
    )


def kq_cohort(
    context: pl.LazyFrame,
    inspections: pl.DataFrame,
    cohorts: pl.DataFrame,
    settings: Settings | None = None,
) -> pl.DataFrame:
    """Key question x cohort x scope (England and Wales, and regions where the programme
    counts towards regional figures), with clustered intervals."""
    base = inspection_counts(context)
    selected = base.join(members(inspections, cohorts), on="inspection_id", how="inner")
    table = pooled_cells(scopes(selected.lazy()), KEYS, kq_icc(base), None, settings)
    labels = cohorts.select("cohort", pl.col("label").alias("cohort_label"))
    return ordered(
        table.join(labels, on="cohort", how="left"), ["cohort", "series", "comparable_id", "scope"]
    )
