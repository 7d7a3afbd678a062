"""Clustering: cases inspected together are alike, so intervals and tests must allow for it.

* `icc_anova`: the intra-inspection correlation of sufficiency, pooled over every inspection of a
  key question, from the one-way random-effects (ANOVA) model with strata as fixed effects
  (Donner 1986; recommended for clustered binary data by Ridout, Demetrio and Firth 1999). On
  balanced data it equals the REML estimate of a random-intercept model
  (tests/unit/test_clustering.py checks this against statsmodels MixedLM).
* `design_effect`: Kish's model-based design effect of a cell, 1 + (m - 1) rho with m the
  size-weighted mean cluster size. Because rho is pooled, a cell holding one or two inspections
  still gets an honest (never below 1) design effect, instead of the noisy estimate its own
  clusters would give.
* `korn_graubard_interval`: the Clopper-Pearson interval on the effective sample size with Korn and
  Graubard's (1998) degrees-of-freedom correction, the interval NCHS uses for survey proportions.
* `clustered_difference`: a difference of two independent clustered proportions with a t-based
  interval on the clusters' degrees of freedom (the small-cluster correction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.statistics import distributions as dist

ArrayLike = np.ndarray | list[float] | float


@dataclass(frozen=True)
class ICC:
    """A pooled intra-cluster correlation and what it rests on."""

    rho: float
    clusters: int
    strata: int
    answers: int

    @property
    def df(self) -> int:
        """Degrees of freedom of the between-cluster mean square."""
        return max(self.clusters - self.strata, 1)


def icc_anova(k: ArrayLike, m: ArrayLike, strata: ArrayLike | None = None) -> ICC:
    """One-way ANOVA estimator of the ICC for binary data in clusters (k of m 'yes' per cluster),
    with strata (e.g. region x programme) as fixed effects; truncated at 0."""
    k_arr, m_arr = np.asarray(k, float), np.asarray(m, float)
    keep = m_arr > 0
    k_arr, m_arr = k_arr[keep], m_arr[keep]
    group = np.zeros(len(m_arr), dtype=int) if strata is None else np.asarray(strata)[keep]
    _, group = np.unique(group, return_inverse=True)
    n_clusters, n_strata, total = len(m_arr), int(group.max() + 1) if len(group) else 0, m_arr.sum()
    if n_clusters - n_strata < 1 or total - n_clusters < 1:
        return ICC(0.0, n_clusters, n_strata, int(total))
    p_cluster = k_arr / m_arr
    stratum_k = np.bincount(group, k_arr)
    stratum_m = np.bincount(group, m_arr)
    p_stratum = stratum_k[group] / stratum_m[group]
    ssb = np.sum(m_arr * (p_cluster - p_stratum) ** 2)
    ssw = np.sum(m_arr * p_cluster * (1 - p_cluster))
    msb = ssb / (n_clusters - n_strata)
    msw = ssw / (total - n_clusters)
    m0 = (total - np.sum(m_arr**2 / stratum_m[group])) / (n_clusters - n_strata)
    denominator = msb + (m0 - 1) * msw
    rho = (msb - msw) / denominator if denominator > 0 else 0.0
    return ICC(float(max(rho, 0.0)), n_clusters, n_strata, int(total))


def design_effect(sum_m: ArrayLike, sum_m2: ArrayLike, rho: ArrayLike) -> np.ndarray:
    """Kish's design effect 1 + (m_w - 1) rho, m_w = sum(m^2) / sum(m) over the cell's
    clusters (the size-weighted mean cluster size)."""
    s1, s2, r = (np.asarray(x, float) for x in (sum_m, sum_m2, rho))
    with np.errstate(invalid="ignore", divide="ignore"):
        weighted = np.where(s1 > 0, s2 / s1, np.nan)
    return np.asarray(1 + (weighted - 1) * r)


def korn_graubard_interval(
    p: ArrayLike, n_effective: ArrayLike, df: ArrayLike, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Korn-Graubard (1998) interval: Clopper-Pearson with x = p n* and n* the effective sample
    size scaled by (z / t_df)^2. Stays in [0, 1]; exact bounds at p = 0 and 1."""
    p_arr, n_arr, df_arr = (np.asarray(x, float) for x in (p, n_effective, df))
    alpha = 1 - level
    z = dist.norm_ppf(1 - alpha / 2)
    t = dist.t_ppf(1 - alpha / 2, np.maximum(df_arr, 1))
    n_df = n_arr * (z / t) ** 2
    x = p_arr * n_df
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(x > 0, dist.beta_ppf(alpha / 2, x, n_df - x + 1), 0.0)
        high = np.where(x < n_df, dist.beta_ppf(1 - alpha / 2, x + 1, n_df - x), 1.0)
    invalid = ~(n_arr > 0) | np.isnan(p_arr)
    return np.where(invalid, np.nan, low), np.where(invalid, np.nan, high)


@dataclass(frozen=True)
class ClusteredDifference:
    """p1 - p2 with a t interval on the clusters' degrees of freedom."""

    difference: np.ndarray
    se: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p_value: np.ndarray
    df: np.ndarray


def clustered_difference(
    p1: ArrayLike,
    var1: ArrayLike,
    p2: ArrayLike,
    var2: ArrayLike,
    df: ArrayLike,
    level: float = 0.95,
) -> ClusteredDifference:
    """Difference of two independent estimates with their (clustered) variances; the interval
    and the two-sided p-value use Student's t on `df` degrees of freedom."""
    a, va, b, vb, d = (np.asarray(x, float) for x in (p1, var1, p2, var2, df))
    diff = a - b
    se = np.sqrt(va + vb)
    t = dist.t_ppf(0.5 + level / 2, np.maximum(d, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = diff / se
        p = np.where(se > 0, 2 * dist.t_sf(np.abs(stat), np.maximum(d, 1)), np.nan)
    bad = ~(d >= 1)
    nan = np.full_like(diff, np.nan)
    return ClusteredDifference(
        diff,
        np.where(bad, nan, se),
        np.where(bad, nan, diff - t * se),
        np.where(bad, nan, diff + t * se),
        np.where(bad, nan, p),
        d,
    )


def minimum_detectable_difference(
    se: ArrayLike, df: ArrayLike, power: float = 0.8, level: float = 0.95
) -> np.ndarray:
    """The smallest true difference a two-sided test at `level` detects with `power`:
    (t_{1-alpha/2} + t_{power}) x SE on `df` degrees of freedom."""
    se_arr, df_arr = np.asarray(se, float), np.maximum(np.asarray(df, float), 1)
    return np.asarray((dist.t_ppf(0.5 + level / 2, df_arr) + dist.t_ppf(power, df_arr)) * se_arr)
