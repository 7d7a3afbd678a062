"""Building blocks of every sufficiency table: answers in context, counts, intervals, scopes.

Every proportion row carries its counts (`n_yes`, `n_no`, `n_na`, `n_applicable` = yes + no),
`pct` (0-100, unrounded), a Wilson interval at the configured confidence level and `synthetic`.
Sufficiency tables use the core question set only: answers given against the adjusted set
(Probation Reset or suspended contact) are judged against different expectations
(framework.md 7.9). The dynamic inspection of public protection is its own `series` ('dipp'),
never pooled with core inspections (different sample design, framework.md 7.8).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from pipeline import refdata
from pipeline.config import Settings
from pipeline.domain import DIPP_PROGRAMME, NATIONAL, PERIOD_TYPES, SUBGROUPS
from pipeline.statistics import clustering, stats

KQ_COLUMNS = ("comparable_id", "key_question", "standard", "theme")


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
        "provider",
        "fieldwork_start",
        "start_date",
        *SUBGROUPS,
        "synthetic",
    )
    return (
        answers.join(context, on=["inspection_id", "case_id"], how="inner")
        .filter(pl.col("question_set") == "core")
        .with_columns(series_expr(), pl.col("region").cast(pl.String))
    )


def asked_before_and_after(core: pl.LazyFrame) -> pl.LazyFrame:
    """Answers of the questions asked in both eras: a before/after comparison (or a segmented
    regression around unification) needs both. Court work and resettlement, asked only in
    post-unification programmes here, drop out."""
    after = pl.col("fieldwork_start") >= refdata.unification_date()  # the era, by definition
    eras = core.group_by("comparable_id").agg(after.n_unique().alias("_eras"))
    both = eras.filter(pl.col("_eras") == 2).select("comparable_id")
    return core.join(both, on="comparable_id", how="semi")


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


def pooled_icc(clusters: pl.DataFrame, family: list[str], strata: list[str]) -> pl.DataFrame:
    """The intra-inspection correlation per family (e.g. series x key question), pooled over
    every inspection with `strata` (e.g. region x programme) as fixed effects.

    `clusters` holds n_yes and n_no per inspection (and region, for an inspection spanning
    several). Returns the family columns, `icc` and `icc_df` (clusters minus strata)."""
    rows = []
    ordered_clusters = clusters.sort([*family, *strata, "inspection_id"])
    for key, group in ordered_clusters.group_by(family, maintain_order=True):
        estimate = _icc_with_fallback(group, strata)
        rows.append(
            {**dict(zip(family, key, strict=True)), "icc": estimate.rho, "icc_df": estimate.df}
        )
    schema: dict[str, Any] = {c: clusters.schema[c] for c in family}
    schema |= {"icc": pl.Float64, "icc_df": pl.Int64}
    return pl.DataFrame(rows, schema=schema)


MIN_ICC_DF = 5
"""Fewer spare inspections than this within strata (e.g. one dynamic inspection per region)
and the strata are coarsened (programme only, then none): a larger, more cautious ICC."""


def _icc_with_fallback(group: pl.DataFrame, strata: list[str]) -> clustering.ICC:
    k = group["n_yes"].to_numpy()
    m = (group["n_yes"] + group["n_no"]).to_numpy()
    estimate = clustering.icc_anova(k, m)
    for layers in (strata, strata[1:]):
        if not layers:
            continue
        stratum = group.select(pl.concat_str([pl.col(c).cast(pl.String) for c in layers]))
        candidate = clustering.icc_anova(k, m, stratum.to_series().to_numpy())
        if candidate.df >= MIN_ICC_DF:
            return candidate
    return estimate


def cluster_columns(
    counts: pl.LazyFrame, keys: list[str], icc: pl.DataFrame, family: list[str]
) -> pl.LazyFrame:
    """Per cell: inspections, the model-based design effect from the pooled ICC, the effective
    sample size, and (as a diagnostic) the design effect the cell's own inspections suggest.

    The empirical one is the cluster-robust variance G/(G-1) sum_i (k_i - p m_i)^2 / N^2 over the
    simple-random-sampling variance, computed from exact integer sums (so tables stay
    byte-identical run to run); with few inspections it is noise, which is why intervals use the
    model-based one: 1 + (sum m_i^2 / N - 1) x ICC.
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
    model = 1 + (pl.col("_mm").cast(pl.Float64) / n - 1) * pl.col("icc")
    return (
        cell.join(icc.lazy(), on=family, how="left")
        .with_columns(
            model.alias("design_effect"),
            _empirical_design_effect().alias("design_effect_empirical"),
        )
        .with_columns((n / pl.col("design_effect")).alias("n_effective"))
        .select(
            *keys,
            pl.col("n_inspections").cast(pl.UInt32),
            "icc",
            "icc_df",
            "design_effect",
            "design_effect_empirical",
            "n_effective",
        )
    )


def _empirical_design_effect() -> pl.Expr:
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
    return pl.when(srs > 0).then(variance / srs)


def with_cluster_interval(frame: pl.DataFrame, settings: Settings | None = None) -> pl.DataFrame:
    """The Korn-Graubard interval (0-100 scale), the wider of two: on the effective sample size
    from the pooled intra-inspection correlation, and (on 3 or more inspections) from the cell's
    own between-inspection variance (empirical design effect, inspections - 1 degrees of
    freedom). `interval_basis` says which. A cell on `levels_only_max_inspections` or fewer is a
    level only (`levels_only`, [u]): no interval at all, Wilson's included, since one or two
    inspections say nothing about how much inspections differ. `low_reliability` flags cells on
    few inspections or a small effective sample."""
    settings = settings or refdata.settings()
    pooled, own = _pooled_interval(frame, settings), _own_interval(frame, settings)
    wider = np.nan_to_num(own[1] - own[0], nan=-1.0) > np.nan_to_num(pooled[1] - pooled[0])
    levels_only = (
        frame["n_inspections"].cast(pl.Int64).fill_null(0) <= settings.levels_only_max_inspections
    ).to_numpy()
    low = np.where(levels_only, np.nan, np.where(wider, own[0], pooled[0]))
    high = np.where(levels_only, np.nan, np.where(wider, own[1], pooled[1]))
    basis = [
        None if hide else ("own inspections" if own_wider else "pooled model")
        for hide, own_wider in zip(levels_only.tolist(), wider.tolist(), strict=True)
    ]
    low_reliability = (pl.col("n_inspections") < settings.reliable_min_inspections) | (
        pl.col("n_effective") < settings.reliable_min_effective_n
    )
    hidden = pl.Series("levels_only", levels_only)
    return frame.with_columns(
        pl.Series("ci_cluster_low", 100 * low).fill_nan(None),
        pl.Series("ci_cluster_high", 100 * high).fill_nan(None),
        pl.Series("interval_basis", basis, pl.String),
        pl.when(hidden).then(None).otherwise(pl.col("ci_low")).alias("ci_low"),
        pl.when(hidden).then(None).otherwise(pl.col("ci_high")).alias("ci_high"),
        hidden,
        low_reliability.fill_null(True).alias("low_reliability"),
    )


def _pooled_interval(frame: pl.DataFrame, settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Korn-Graubard on the model-based effective sample size and the ICC's degrees of
    freedom (0-1 scale)."""
    p = (frame["n_yes"] / frame["n_applicable"]).to_numpy().astype(float)
    n_eff = frame["n_effective"].fill_null(np.nan).to_numpy().astype(float)
    df = frame["icc_df"].fill_null(1).to_numpy().astype(float)
    return clustering.korn_graubard_interval(p, n_eff, df, settings.confidence_level)


def _own_interval(frame: pl.DataFrame, settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Korn-Graubard on the cell's own effective sample size, N / empirical design effect (at
    least 1: never narrower than simple random sampling), on inspections - 1 degrees of
    freedom; NaN below 3 inspections (0-1 scale)."""
    p = (frame["n_yes"] / frame["n_applicable"]).to_numpy().astype(float)
    n = frame["n_applicable"].to_numpy().astype(float)
    g = frame["n_inspections"].cast(pl.Float64).fill_null(0).to_numpy()
    deff = np.maximum(frame["design_effect_empirical"].fill_null(np.nan).to_numpy(), 1.0)
    n_eff = np.where(g >= 3, n / deff, np.nan)
    return clustering.korn_graubard_interval(p, n_eff, g - 1, settings.confidence_level)


def scopes(frame: pl.LazyFrame, by_region: bool = True) -> pl.LazyFrame:
    """Each row once for England and Wales and (if `by_region`), unless its programme was
    sampled nationally, once for its region, as `scope` (the frame needs `programme`)."""
    national = frame.with_columns(pl.lit(NATIONAL).alias("scope"))
    if not by_region:
        return national
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
