"""The case-mix-adjusted before/after difference: a logistic model per key question x scope.

Sufficiency is regressed on an after-unification indicator plus risk of serious harm, case type,
gender and age band, with standard errors clustered by inspection and Student's t on (inspections
- 1) degrees of freedom. Pre-unification cases are weighted so that CRC and NPS cases count in
proportion to the providers' caseload shares (post-stratification, reference/provider_shares.csv):
which providers happened to be inspected in a region is an accident the comparison should not
inherit. The reported difference is the average marginal effect of the era over the (weighted)
cases of both eras. The regional shares are not yet verified (every region carries the national
58/42 split), so the same model without the weights is reported beside it
(`adjusted_diff_unweighted_pp`): the two differ only by the weights, and the raw difference and
the unweighted adjusted one differ only by the case mix.

Case-mix categories with fewer than MIN_CATEGORY_CASES cases in a cell (or all but that many) are
folded into the variable's reference category for that cell: they cannot be estimated and make
the fit unstable. On the sample this moves estimates by up to about 1 percentage point.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl

from pipeline.domain import CASE_MIX
from pipeline.statistics import distributions as dist
from pipeline.statistics import small_sample, stats

MIN_CATEGORY_CASES = 10  # case-mix categories rarer than this in a cell join the reference


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


ADJUSTED_SCHEMA: dict[str, type[pl.DataType]] = {
    "comparable_id": pl.String,
    "scope": pl.String,
    "adjusted_diff_pp": pl.Float64,
    "adjusted_ci_low": pl.Float64,
    "adjusted_ci_high": pl.Float64,
    "adjusted_p_value": pl.Float64,
    "adjusted_odds_ratio": pl.Float64,
    "model_n_inspections": pl.Int64,
    "model_converged": pl.Boolean,
    "adjusted_se_pp": pl.Float64,
    "adjusted_df": pl.Float64,
    "adjusted_diff_unweighted_pp": pl.Float64,
}


def _covariate_patterns(core: pl.LazyFrame) -> pl.DataFrame:
    """Applicable answers collapsed to case-mix patterns within each inspection and era:
    `k` sufficient of `n`, per comparable key question x scope (with the provider)."""
    return (
        core.filter(pl.col("answer").cast(pl.String).is_in(["yes", "no"]))
        .group_by(
            "comparable_id",
            "scope",
            "inspection_id",
            "era",
            pl.col("provider").cast(pl.String),
            *[pl.col(c).cast(pl.String) for c in CASE_MIX],
        )
        .agg(
            (pl.col("answer").cast(pl.String) == "yes").sum().cast(pl.Float64).alias("k"),
            pl.len().cast(pl.Float64).alias("n"),
        )
        .sort(
            "comparable_id", "scope", "inspection_id", "era", "provider", *CASE_MIX, nulls_last=True
        )
        .collect()
    )


def adjusted_differences(
    core: pl.LazyFrame, threshold: int, level: float, shares: dict[str, dict[str, float]]
) -> pl.DataFrame:
    """Fit one cluster-robust logistic model per comparable key question x scope.

    Answers are first collapsed to covariate patterns within each inspection (yes count out of
    n), which gives the same estimates as a case-level fit (tests/unit/test_stats.py) while keeping
    ten million answers to a few thousand rows.
    """
    patterns = _covariate_patterns(core)
    dummies = _case_mix_dummies(patterns)
    frame = pl.concat([patterns.drop(CASE_MIX), dummies], how="horizontal")
    rows = [
        _fit_cell(
            comparable_id,
            scope,
            _with_weights(cell, shares.get(str(scope))),
            dummies.columns,
            threshold,
            level,
        )
        for (comparable_id, scope), cell in frame.group_by(
            "comparable_id", "scope", maintain_order=True
        )
    ]
    return pl.DataFrame(rows, schema=ADJUSTED_SCHEMA).with_columns(
        pl.col(c).fill_nan(None) for c, t in ADJUSTED_SCHEMA.items() if t == pl.Float64
    )


def _with_weights(cell: pl.DataFrame, shares: dict[str, float] | None) -> pl.DataFrame:
    """Case weights: 1 after unification; before it, each provider's caseload share over its
    share of the pre-unification sample (1 where a provider is absent or no shares apply)."""
    pre = cell.filter(pl.col("era") == "pre_unification")
    sample = dict(pre.group_by("provider").agg(pl.col("n").sum()).iter_rows())
    total = sum(sample.values())
    if not shares or total == 0 or any(sample.get(p, 0) == 0 for p in shares):
        return cell.with_columns(pl.lit(1.0).alias("weight"))
    factor = {p: shares[p] / (sample[p] / total) for p in shares}
    weight = pl.col("provider").replace_strict(factor, default=1.0, return_dtype=pl.Float64)
    return cell.with_columns(
        pl.when(pl.col("era") == "pre_unification").then(weight).otherwise(1.0).alias("weight")
    )


def _fit_cell(
    comparable_id: object,
    scope: object,
    cell: pl.DataFrame,
    covariates: list[str],
    threshold: int,
    level: float,
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
    result, unweighted = (
        stats.adjusted_difference(
            cell["k"].to_numpy(),
            post,
            x,
            cell["inspection_id"].to_numpy(),
            trials=trials,
            weights=weights,
            level=level,
        )
        for weights in (cell["weight"].to_numpy(), np.ones(len(trials)))
    )
    result, df = _with_cr2(result, cell, np.column_stack([np.ones(len(trials)), post, x]), level)
    row.update(
        {
            "adjusted_diff_pp": 100 * result.difference,
            "adjusted_ci_low": 100 * result.low,
            "adjusted_ci_high": 100 * result.high,
            "adjusted_p_value": result.p_value,
            "adjusted_odds_ratio": result.odds_ratio,
            "model_n_inspections": result.n_clusters,
            "model_converged": result.converged,
            "adjusted_se_pp": 100 * result.se,
            "adjusted_df": df,
            "adjusted_diff_unweighted_pp": 100 * unweighted.difference,
        }
    )
    return row


def _with_cr2(
    result: stats.AdjustedDifference, cell: pl.DataFrame, x: np.ndarray, level: float
) -> tuple[stats.AdjustedDifference, float]:
    """`result` with its interval and test from CR2 and the Bell-McCaffrey degrees of freedom
    of the marginal effect's gradient (small_sample.cr2_marginal_effect), instead of CR1 on
    inspections - 1: with 15-23 inspections CR1 is too short. Unchanged where it cannot fit."""
    trials = cell["n"].to_numpy().astype(float)
    small = small_sample.cr2_marginal_effect(
        cell["k"].to_numpy() / trials,
        x,
        trials * cell["weight"].to_numpy(),
        cell["inspection_id"].to_numpy(),
    )
    if small is None or not small.se > 0:
        return result, float(result.df)
    t = float(dist.t_ppf(0.5 + level / 2, small.df))
    p = float(2 * dist.t_sf(abs(small.estimate / small.se), small.df))
    spread = t * small.se
    return dataclasses.replace(
        result,
        difference=small.estimate,
        se=small.se,
        low=small.estimate - spread,
        high=small.estimate + spread,
        p_value=p,
    ), small.df
