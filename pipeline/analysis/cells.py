"""Building blocks of every sufficiency table: answers in context, counts, intervals, scopes.

Every proportion row carries its counts (`n_yes`, `n_no`, `n_na`, `n_applicable` = yes + no),
`pct` (0-100, unrounded), a Wilson interval at the configured confidence level and `synthetic`.
Sufficiency tables use the core question set only: answers given against the adjusted set
(Probation Reset or suspended contact) are judged against different expectations
(framework.md 7.9). The dynamic inspection of public protection is its own `series` ('dipp'),
never pooled with core inspections (different sample design, framework.md 7.8).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline import refdata
from pipeline.analysis import stats
from pipeline.domain import DIPP_PROGRAMME, NATIONAL, PERIOD_TYPES, SUBGROUPS

KQ_COLUMNS = ("comparable_id", "key_question", "standard", "theme")
CLUSTER_COLUMNS = ("design_effect", "n_effective", "ci_cluster_low", "ci_cluster_high")


def answers_in_context(cases: pl.LazyFrame, answers: pl.LazyFrame) -> pl.LazyFrame:
    """Core-question-set answers joined to their case's context (era, region, periods, mix)."""
    context = cases.select(
        "inspection_id",
        "case_id",
        "era",
        "programme",
        "region",
        "calendar_year",
        "financial_year",
        "half_year",
        "publication_year",
        "question_set",
        *SUBGROUPS,
        "synthetic",
    )
    return (
        answers.join(context, on=["inspection_id", "case_id"], how="inner")
        .filter(pl.col("question_set") == "core")
        .with_columns(series_expr(), pl.col("region").cast(pl.String))
    )


def series_expr() -> pl.Expr:
    """'dipp' for the dynamic inspection of public protection, 'core' for everything else."""
    return (
        pl.when(pl.col("programme") == DIPP_PROGRAMME)
        .then(pl.lit("dipp"))
        .otherwise(pl.lit("core"))
        .alias("series")
    )


def count_answers(frame: pl.LazyFrame, keys: list[str], answer: str = "answer") -> pl.LazyFrame:
    """yes / no / na counts per cell, and whether every answer in it is synthetic."""
    value = pl.col(answer).cast(pl.String)
    return (
        frame.group_by(keys)
        .agg(
            (value == "yes").sum().cast(pl.Int64).alias("n_yes"),
            (value == "no").sum().cast(pl.Int64).alias("n_no"),
            (value == "na").sum().cast(pl.Int64).alias("n_na"),
            pl.col("synthetic").all().alias("synthetic"),
        )
        .with_columns((pl.col("n_yes") + pl.col("n_no")).alias("n_applicable"))
    )


def with_wilson(
    frame: pl.DataFrame,
    k: str = "n_yes",
    n: str = "n_applicable",
    suffix: str = "",
    z: float | None = None,
) -> pl.DataFrame:
    """Add pct and the Wilson interval (0-100 scale) at the configured confidence level."""
    z = refdata.settings().z if z is None else z
    k_arr = frame[k].to_numpy().astype(float)
    n_arr = frame[n].to_numpy().astype(float)
    low, high = stats.wilson_interval(k_arr, n_arr, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(n_arr > 0, 100 * k_arr / n_arr, np.nan)
    return frame.with_columns(
        pl.Series(f"pct{suffix}", pct).fill_nan(None),
        pl.Series(f"ci_low{suffix}", 100 * low).fill_nan(None),
        pl.Series(f"ci_high{suffix}", 100 * high).fill_nan(None),
    )


def sum_counts(frame: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    """Add up already-counted cells (n_yes, n_no, n_na) to coarser keys."""
    return (
        frame.group_by(keys)
        .agg(
            pl.col("n_yes", "n_no", "n_na").sum(),
            pl.col("synthetic").all(),
        )
        .with_columns((pl.col("n_yes") + pl.col("n_no")).alias("n_applicable"))
    )


def cluster_columns(counts: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    """Cluster-robust (by inspection) variance per cell -> design effect, effective n.

    `counts` holds n_yes / n_no per inspection (and finer keys). Vectorised form of
    `stats.cluster_variance`: V = G/(G-1) * sum_i (k_i - p m_i)^2 / N^2, expanded as
    sum k^2 - 2p sum k m + p^2 sum m^2 so that every aggregate is an exact integer sum.
    Floating-point sums in a parallel group-by are added in varying order and differ in the
    last bits from run to run; integer sums do not, so the tables stay byte-identical.
    """
    per_inspection = (
        counts.group_by([*keys, "inspection_id"])
        .agg(
            pl.col("n_yes").sum().cast(pl.Int64).alias("_k"),
            (pl.col("n_yes") + pl.col("n_no")).sum().cast(pl.Int64).alias("_m"),
        )
        .filter(pl.col("_m") > 0)
    )
    cell = per_inspection.group_by(keys).agg(
        pl.len().cast(pl.Int64).alias("n_inspections"),
        pl.col("_k").sum().alias("_K"),
        pl.col("_m").sum().alias("_N"),
        (pl.col("_k") * pl.col("_k")).sum().alias("_kk"),
        (pl.col("_k") * pl.col("_m")).sum().alias("_km"),
        (pl.col("_m") * pl.col("_m")).sum().alias("_mm"),
    )
    n = pl.col("_N").cast(pl.Float64)
    p = pl.col("_K").cast(pl.Float64) / n
    g = pl.col("n_inspections").cast(pl.Float64)
    squares = (
        pl.col("_kk").cast(pl.Float64)
        - 2 * p * pl.col("_km").cast(pl.Float64)
        + p * p * pl.col("_mm").cast(pl.Float64)
    ).clip(lower_bound=0)
    variance = pl.when(g >= 2).then(g / (g - 1) * squares / n**2)
    srs = p * (1 - p) / n
    deff = pl.when(srs > 0).then(variance / srs).when(g >= 2).then(1.0)
    return (
        cell.with_columns(deff.alias("design_effect"))
        .with_columns(
            # never more precise than independent sampling: with few inspections an estimated
            # design effect below 1 is noise, so the effective n is at most the actual n
            pl.when(pl.col("design_effect") > 0)
            .then(n / pl.max_horizontal(pl.col("design_effect"), pl.lit(1.0)))
            .alias("n_effective")
        )
        .select(*keys, pl.col("n_inspections").cast(pl.UInt32), "design_effect", "n_effective")
    )


def with_cluster_interval(frame: pl.DataFrame, z: float | None = None) -> pl.DataFrame:
    """Wilson interval on the effective sample size (0-100 scale)."""
    z = refdata.settings().z if z is None else z
    p = (frame["n_yes"] / frame["n_applicable"]).to_numpy().astype(float)
    n_eff = frame["n_effective"].fill_null(np.nan).to_numpy().astype(float)
    low, high = stats.cluster_wilson_interval(p, n_eff, z)
    return frame.with_columns(
        pl.Series("ci_cluster_low", 100 * low).fill_nan(None),
        pl.Series("ci_cluster_high", 100 * high).fill_nan(None),
    )


def scopes(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Each row once for England and Wales and, unless its programme was sampled nationally,
    once for its region, as `scope` (the frame needs `programme`)."""
    national = frame.with_columns(pl.lit(NATIONAL).alias("scope"))
    regional = frame.filter(in_regional_figures()).with_columns(pl.col("region").alias("scope"))
    return pl.concat([national, regional])


def in_regional_figures() -> pl.Expr:
    """Rows whose cases count towards regional figures (reference/programmes.csv)."""
    return pl.col("programme").cast(pl.String).is_in(refdata.regional_programmes())


def periods(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Each row once per period type, with the period label as text."""
    return pl.concat(
        [
            frame.with_columns(
                pl.lit(t).alias("period_type"), pl.col(t).cast(pl.String).alias("period")
            )
            for t in PERIOD_TYPES
        ]
    )


def ordered(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return frame.sort(keys, nulls_last=True)
