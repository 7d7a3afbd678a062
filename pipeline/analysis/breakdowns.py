"""Breakdowns: sufficiency by case characteristics, and safeguarding enquiries."""

from __future__ import annotations

import polars as pl

from pipeline.analysis.cells import (
    KQ_COLUMNS,
    count_answers,
    ordered,
    scopes,
    series_expr,
    sum_counts,
    with_wilson,
)
from pipeline.domain import NATIONAL, SUBGROUPS


def subgroups(context: pl.LazyFrame, z: float | None = None) -> pl.DataFrame:
    """Sufficiency by RoSH, case type, gender, ethnicity, age band and MAPPA level, for each
    key question, series and era (England and Wales)."""
    grain = ["series", *KQ_COLUMNS, "era", *SUBGROUPS]
    base = count_answers(context, grain).collect().lazy()
    parts = [
        base.with_columns(
            pl.lit(variable).alias("subgroup"),
            pl.col(variable).cast(pl.String).fill_null("not recorded").alias("subgroup_value"),
        )
        for variable in SUBGROUPS
    ]
    keys = ["series", *KQ_COLUMNS, "era", "subgroup", "subgroup_value"]
    counts = sum_counts(pl.concat(parts, how="diagonal_relaxed"), keys).collect()
    table = with_wilson(counts, z=z)
    return ordered(table.with_columns(pl.lit(NATIONAL).alias("scope")), keys)


def enquiries(cases: pl.LazyFrame, z: float | None = None) -> pl.DataFrame:
    """Domestic abuse and child safeguarding enquiries made, among cases where the concern was
    flagged (the enquiry was relevant), by scope and period (financial year, programme, era)."""
    base = cases.with_columns(
        pl.col("region").cast(pl.String),
        series_expr(),
        pl.col("era").cast(pl.String),
    )
    parts = []
    for measure, flag in (("da_enquiry", "da_concern"), ("cs_enquiry", "cs_concern")):
        relevant = base.filter(pl.col(flag)).with_columns(
            pl.lit(measure).alias("measure"), pl.col(measure).alias("answer")
        )
        parts.append(relevant)
    frame = scopes(pl.concat(parts))
    frame = pl.concat(
        [
            frame.with_columns(
                pl.lit(t).alias("period_type"), pl.col(t).cast(pl.String).alias("period")
            )
            for t in ("financial_year", "programme", "era")
        ]
    )
    keys = ["measure", "series", "scope", "period_type", "period"]
    return ordered(with_wilson(count_answers(frame, keys).collect(), z=z), keys)
