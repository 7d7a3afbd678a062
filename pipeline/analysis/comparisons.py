"""Before vs after unification: raw differences (Newcombe, z-test) and case-mix-adjusted ones."""

from __future__ import annotations

import polars as pl

from pipeline import refdata
from pipeline.analysis import stats
from pipeline.analysis.cells import (
    KQ_COLUMNS,
    count_answers,
    ordered,
    scopes,
    sum_counts,
    with_wilson,
)
from pipeline.domain import CASE_MIX, COUNT_COLUMNS

MIN_CATEGORY_CASES = 10  # case-mix categories rarer than this in a cell join the reference


def unification(context: pl.LazyFrame, threshold: int, z: float | None = None) -> pl.DataFrame:
    """Pre vs post unification for every comparable key question, nationally and per region:
    both proportions with Wilson intervals, the difference (post - pre, percentage points) with
    Newcombe's interval and a two-sided test, and a case-mix-adjusted difference (logistic
    regression on RoSH, case type, gender and age band, errors clustered by inspection)."""
    z = refdata.settings().z if z is None else z
    core = context.filter(pl.col("series") == "core")
    both = _raw_differences(_era_counts(core), z)
    adjusted = _adjusted_differences(scopes(core), threshold, z)
    both = both.join(adjusted, on=["comparable_id", "scope"], how="left")
    return ordered(both, ["comparable_id", "scope"])


def _era_counts(core: pl.LazyFrame) -> pl.DataFrame:
    """Counts per key question x scope, with the pre and post eras side by side (`_pre`,
    `_post`); an era with no answers has zero counts."""
    keys = [*KQ_COLUMNS, "scope"]
    base = count_answers(core, [*KQ_COLUMNS, "region", "programme", "era"]).collect().lazy()
    counts = sum_counts(scopes(base), [*keys, "era"]).collect()
    pre = counts.filter(pl.col("era") == "pre_unification").drop("era")
    post = counts.filter(pl.col("era") == "post_unification").drop("era")
    both = pre.join(post, on=keys, how="full", coalesce=True, suffix="_post").rename(
        {c: f"{c}_pre" for c in (*COUNT_COLUMNS, "synthetic")}
    )
    return (
        both.with_columns(
            pl.col(f"{c}_{e}").fill_null(0) for c in COUNT_COLUMNS for e in ("pre", "post")
        )
        .with_columns(
            (
                pl.col("synthetic_pre").fill_null(True) & pl.col("synthetic_post").fill_null(True)
            ).alias("synthetic")
        )
        .drop("synthetic_pre", "synthetic_post")
    )


def _raw_differences(both: pl.DataFrame, z: float) -> pl.DataFrame:
    """Each era's Wilson interval, and post - pre with Newcombe's interval and a z-test."""
    both = with_wilson(both, "n_yes_pre", "n_applicable_pre", "_pre", z=z)
    both = with_wilson(both, "n_yes_post", "n_applicable_post", "_post", z=z)
    k1, n1, k2, n2 = (
        both[c].to_numpy().astype(float)
        for c in ("n_yes_post", "n_applicable_post", "n_yes_pre", "n_applicable_pre")
    )
    diff, low, high = stats.newcombe_difference(k1, n1, k2, n2, z)
    return both.with_columns(
        pl.Series("diff_pp", 100 * diff).fill_nan(None),
        pl.Series("diff_ci_low", 100 * low).fill_nan(None),
        pl.Series("diff_ci_high", 100 * high).fill_nan(None),
        pl.Series("p_value", stats.two_proportion_p_value(k1, n1, k2, n2)).fill_nan(None),
    )


def _case_mix_dummies(patterns: pl.DataFrame) -> pl.DataFrame:
    """0/1 columns for each case-mix category except the reference, which is the variable's
    most common category (ties by name): a fixed choice, so estimates never depend on row
    order."""
    columns = []
    for variable in CASE_MIX:
        counts = (
            patterns.group_by(pl.col(variable).fill_null("missing"))
            .agg(pl.col("n").sum())
            .sort(["n", variable], descending=[True, False])
        )
        for category in counts[variable].to_list()[1:]:
            columns.append(
                (pl.col(variable).fill_null("missing") == category)
                .cast(pl.Float64)
                .alias(f"{variable}={category}")
            )
    return patterns.select(columns)


ADJUSTED_SCHEMA = {
    "comparable_id": pl.String,
    "scope": pl.String,
    "adjusted_diff_pp": pl.Float64,
    "adjusted_ci_low": pl.Float64,
    "adjusted_ci_high": pl.Float64,
    "adjusted_p_value": pl.Float64,
    "adjusted_odds_ratio": pl.Float64,
    "model_n_inspections": pl.Int64,
    "model_converged": pl.Boolean,
}


def _covariate_patterns(core: pl.LazyFrame) -> pl.DataFrame:
    """Applicable answers collapsed to case-mix patterns within each inspection and era:
    `k` sufficient of `n`, per comparable key question x scope."""
    return (
        core.filter(pl.col("answer").cast(pl.String).is_in(["yes", "no"]))
        .group_by(
            "comparable_id",
            "scope",
            "inspection_id",
            "era",
            *[pl.col(c).cast(pl.String) for c in CASE_MIX],
        )
        .agg(
            (pl.col("answer").cast(pl.String) == "yes").sum().cast(pl.Float64).alias("k"),
            pl.len().cast(pl.Float64).alias("n"),
        )
        .sort("comparable_id", "scope", "inspection_id", "era", *CASE_MIX, nulls_last=True)
        .collect()
    )


def _adjusted_differences(core: pl.LazyFrame, threshold: int, z: float) -> pl.DataFrame:
    """Fit one cluster-robust logistic model per comparable key question x scope.

    Answers are first collapsed to covariate patterns within each inspection (yes count out of
    n), which gives the same estimates as a case-level fit (tests/test_stats.py) while keeping
    ten million answers to a few thousand rows.
    """
    patterns = _covariate_patterns(core)
    dummies = _case_mix_dummies(patterns)
    frame = pl.concat([patterns.drop(CASE_MIX), dummies], how="horizontal")
    rows = [
        _fit_cell(comparable_id, scope, cell, dummies.columns, threshold, z)
        for (comparable_id, scope), cell in frame.group_by(
            "comparable_id", "scope", maintain_order=True
        )
    ]
    return pl.DataFrame(rows, schema=ADJUSTED_SCHEMA).with_columns(
        pl.col(c).fill_nan(None) for c, t in ADJUSTED_SCHEMA.items() if t == pl.Float64
    )


def _fit_cell(
    comparable_id: object,
    scope: object,
    cell: pl.DataFrame,
    covariates: list[str],
    threshold: int,
    z: float,
) -> dict[str, object]:
    """The adjusted difference for one key question x scope (empty where an era is too small)."""
    post = (cell["era"] == "post_unification").cast(pl.Float64).to_numpy()
    trials = cell["n"].to_numpy()
    row: dict[str, object] = {"comparable_id": comparable_id, "scope": scope}
    if min(trials[post == 0].sum(), trials[post == 1].sum()) < threshold:
        return row
    # (rows, 0) when the case mix never varies: the model is then the era alone
    x = cell.select(covariates).to_numpy().astype(float).reshape(len(trials), len(covariates))
    # A category with very few cases in this cell (or none) cannot be estimated and makes
    # the fit unstable; it is folded into the reference category instead.
    cases_with = trials @ x
    x = x[
        :,
        (cases_with >= MIN_CATEGORY_CASES) & (cases_with <= trials.sum() - MIN_CATEGORY_CASES),
    ]
    result = stats.adjusted_difference(
        cell["k"].to_numpy(), post, x, cell["inspection_id"].to_numpy(), trials=trials, z=z
    )
    row.update(
        {
            "adjusted_diff_pp": 100 * result.difference,
            "adjusted_ci_low": 100 * result.low,
            "adjusted_ci_high": 100 * result.high,
            "adjusted_p_value": result.p_value,
            "adjusted_odds_ratio": result.odds_ratio,
            "model_n_inspections": result.n_clusters,
            "model_converged": result.converged,
        }
    )
    return row
