"""Before vs after unification, per key question, nationally and per region.

Three differences, from the most to the least complete:

* **adjusted** (the headline): case mix allowed for, pre-unification providers post-stratified to
  their caseload shares, errors clustered by inspection, t on (inspections - 1) degrees of freedom
  (`adjustment.py`), with Holm and Benjamini-Hochberg adjusted p-values within its family (the 12
  key questions for England and Wales; 12 regions x 12 key questions for the regions) and the
  minimum detectable difference at 80 % power;
* **clustered**: post minus the post-stratified pre level, each era's variance from the pooled
  design effect, t on (inspections before + after - 2) degrees of freedom;
* **raw** (`diff_pp`, `diff_ci_*`, `p_value`): Newcombe's interval and the two-proportion z-test,
  which treat cases as independent; kept for reference, never for conclusions.

A comparison resting on fewer than `min_inspections_per_era` inspections in either era is withheld
(its levels are still published) and `comparison_note` says why.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from pipeline import refdata
from pipeline.config import Settings
from pipeline.domain import COUNT_COLUMNS, NATIONAL
from pipeline.statistics import clustering, multiplicity, stats
from pipeline.statistics.adjustment import adjusted_differences
from pipeline.tables.cells import (
    KQ_COLUMNS,
    asked_before_and_after,
    count_answers,
    ordered,
    pooled_icc,
    scopes,
    sum_counts,
    with_wilson,
)

KEYS = ["comparable_id", "scope"]
COMPARISON_COLUMNS = ("diff_", "p_value", "adjusted_", "mdd", "significant")
"""Columns that state a comparison (withheld when either era rests on too few inspections)."""


def unification(context: pl.LazyFrame, settings: Settings | None = None) -> pl.DataFrame:
    """Every comparable key question before and after unification, nationally and per region."""
    settings = settings or refdata.settings()
    core = asked_before_and_after(context.filter(pl.col("series") == "core"))
    table = _raw_differences(_era_counts(core), settings.z)
    table = table.join(_clustered(core, settings), on=KEYS, how="left")
    adjusted = adjusted_differences(
        scopes(core),
        settings.suppression_threshold,
        settings.confidence_level,
        refdata.provider_shares(),
    )
    table = table.join(adjusted, on=KEYS, how="left")
    table = _withhold_thin(table, settings)
    return ordered(_significance(table, settings), KEYS)


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


# --- the clustered difference -----------------------------------------------------------------


def _group_stats(scoped: pl.LazyFrame, by: list[str], icc: pl.DataFrame) -> pl.DataFrame:
    """Inspections, sufficiency and its model-based variance per group (pooled design effect)."""
    clusters = (
        count_answers(scoped, [*by, "inspection_id"])
        .filter(pl.col("n_applicable") > 0)
        .group_by(by)
        .agg(
            pl.len().alias("g"),
            pl.col("n_yes").sum().alias("k"),
            pl.col("n_applicable").sum().alias("n"),
            (pl.col("n_applicable") ** 2).sum().alias("m2"),
        )
        .collect()
    )
    n = pl.col("n").cast(pl.Float64)
    p = pl.col("k") / n
    deff = 1 + (pl.col("m2") / n - 1) * pl.col("icc")
    return clusters.join(icc, on="comparable_id", how="left").with_columns(
        p.alias("p"), (p * (1 - p) / n * deff).alias("var"), (n / deff).alias("n_eff")
    )


def _clustered(core: pl.LazyFrame, settings: Settings) -> pl.DataFrame:
    """Per key question x scope: inspections per era, the post-stratified pre level, each era's
    Korn-Graubard interval, and the clustered difference with its t interval."""
    grain = ["series", "comparable_id", "region", "programme", "inspection_id"]
    icc = pooled_icc(
        count_answers(core, grain).collect(), ["series", "comparable_id"], ["region", "programme"]
    ).drop("series")
    scoped = scopes(core)
    eras = _group_stats(scoped, [*KEYS, "era"], icc)
    providers = _group_stats(
        scoped.filter(pl.col("era") == "pre_unification"), [*KEYS, "provider"], icc
    )
    rows = [
        _clustered_row(key, group, providers, settings)
        for key, group in eras.sort(KEYS).group_by(KEYS, maintain_order=True)
    ]
    return pl.DataFrame(rows, schema=CLUSTERED_SCHEMA)


CLUSTERED_SCHEMA: dict[str, pl.DataType] = {
    "comparable_id": pl.String(),
    "scope": pl.String(),
    "n_inspections_pre": pl.Int64(),
    "n_inspections_post": pl.Int64(),
    "ci_cluster_low_pre": pl.Float64(),
    "ci_cluster_high_pre": pl.Float64(),
    "ci_cluster_low_post": pl.Float64(),
    "ci_cluster_high_post": pl.Float64(),
    "pct_pre_weighted": pl.Float64(),
    "weighting": pl.String(),
    "diff_clustered_pp": pl.Float64(),
    "diff_clustered_ci_low": pl.Float64(),
    "diff_clustered_ci_high": pl.Float64(),
    "p_value_clustered": pl.Float64(),
    "diff_clustered_df": pl.Int64(),
}


def _era(group: pl.DataFrame, era: str) -> dict[str, float]:
    row = group.filter(pl.col("era") == era)
    if row.height == 0:
        return {"g": 0, "p": np.nan, "var": np.nan, "n_eff": np.nan, "icc_df": 1}
    return row.row(0, named=True)


def _weighted_pre(
    key: tuple[Any, ...], pre: dict[str, Any], providers: pl.DataFrame
) -> tuple[float, float, str]:
    """The pre-unification level post-stratified to the providers' caseload shares, its
    variance, and how it was weighted (or why it could not be)."""
    shares = refdata.provider_shares().get(str(key[1]))
    parts = providers.filter(pl.col("comparable_id") == key[0], pl.col("scope") == key[1])
    found = {r["provider"]: r for r in parts.iter_rows(named=True)}
    if not shares or any(p not in found for p in shares):
        missing = ", ".join(p for p in (shares or {}) if p not in found) or "caseload shares"
        return pre["p"], pre["var"], f"not weighted: no {missing} cases before unification"
    p = sum(shares[h] * found[h]["p"] for h in shares)
    var = sum(shares[h] ** 2 * found[h]["var"] for h in shares)
    return p, var, "CRC and NPS cases weighted to caseload shares (shares not verified)"


def _clustered_row(
    key: tuple[Any, ...], group: pl.DataFrame, providers: pl.DataFrame, settings: Settings
) -> dict[str, object]:
    pre, post = _era(group, "pre_unification"), _era(group, "post_unification")
    p_pre, var_pre, weighting = _weighted_pre(key, pre, providers)
    df = pre["g"] + post["g"] - 2
    diff = clustering.clustered_difference(post["p"], post["var"], p_pre, var_pre, df)
    intervals = {
        era: clustering.korn_graubard_interval(
            values["p"], values["n_eff"], values["icc_df"], settings.confidence_level
        )
        for era, values in (("pre", pre), ("post", post))
    }
    return {
        "comparable_id": key[0],
        "scope": key[1],
        "n_inspections_pre": int(pre["g"]),
        "n_inspections_post": int(post["g"]),
        **{
            f"ci_cluster_{side}_{era}": _pct(bounds[i])
            for era, bounds in intervals.items()
            for i, side in enumerate(("low", "high"))
        },
        "pct_pre_weighted": _pct(p_pre),
        "weighting": weighting,
        "diff_clustered_pp": _pct(diff.difference),
        "diff_clustered_ci_low": _pct(diff.low),
        "diff_clustered_ci_high": _pct(diff.high),
        "p_value_clustered": _number(diff.p_value),
        "diff_clustered_df": int(df) if df >= 1 else None,
    }


def _pct(value: object) -> float | None:
    number = _number(value)
    return None if number is None else 100 * number


def _number(value: object) -> float | None:
    number = float(np.asarray(value, float))
    return None if np.isnan(number) else number


# --- what may be concluded --------------------------------------------------------------------


def _withhold_thin(table: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Blank every comparison column where an era rests on too few inspections, saying why."""
    least = settings.min_inspections_per_era
    pre, post = pl.col("n_inspections_pre").fill_null(0), pl.col("n_inspections_post").fill_null(0)
    thin = (pre < least) | (post < least)
    note = pl.format(
        "comparison withheld: {} inspections before and {} after unification (at least {} "
        "needed in each)",
        pre,
        post,
        pl.lit(least),
    )
    columns = [c for c in table.columns if c.startswith(COMPARISON_COLUMNS)]
    return table.with_columns(
        *[pl.when(thin).then(None).otherwise(pl.col(c)).alias(c) for c in columns],
        pl.when(thin).then(note).otherwise(pl.lit(None, pl.String)).alias("comparison_note"),
    )


def _significance(table: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Holm and Benjamini-Hochberg adjusted p-values of the adjusted difference within each
    family (England and Wales; the regions), the flags they give at 1 - confidence level, and
    the minimum detectable difference at 80 % power."""
    alpha = 1 - settings.confidence_level
    family = np.where(table["scope"].to_numpy() == NATIONAL, NATIONAL, "regions")
    p = table["adjusted_p_value"].fill_null(np.nan).to_numpy().astype(float)
    holm, bh = np.full_like(p, np.nan), np.full_like(p, np.nan)
    size = np.zeros(len(p), dtype=np.int64)
    for name in np.unique(family):
        members = family == name
        holm[members] = multiplicity.holm(p[members])
        bh[members] = multiplicity.benjamini_hochberg(p[members])
        size[members] = int((~np.isnan(p[members])).sum())
    se = table["adjusted_se_pp"].fill_null(np.nan).to_numpy().astype(float)
    df = table["adjusted_df"].fill_null(0).to_numpy().astype(float)
    mdd = np.where(df >= 1, clustering.minimum_detectable_difference(se, df), np.nan)
    holm_p = pl.Series("p_value_holm", holm).fill_nan(None)
    bh_p = pl.Series("p_value_bh", bh).fill_nan(None)
    return table.with_columns(
        pl.Series("test_family", family),
        pl.Series("test_family_size", size),
        holm_p,
        bh_p,
        (holm_p < alpha).alias("significant_holm"),
        (bh_p < alpha).alias("significant_bh"),
        pl.Series("mdd_pp", mdd).fill_nan(None),
    )
