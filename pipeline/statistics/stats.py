"""Statistics for sufficiency tables: intervals, differences, tests, clustering, adjustment.

Vectorised over NumPy arrays so a whole table of cells is computed at once. Conventions:
proportions are 0-1 here (tables convert to percentages), `k` is the number of 'yes' answers and
`n` the applicable answers (yes + no); cells with n = 0 give NaN. Every function is checked in
tests/unit/test_stats.py against statsmodels / scipy or hand-worked cases.

References: Wilson (1927) score interval; Newcombe (1998), "Interval estimation for the
difference between independent proportions", method 10 (hybrid score); the with-replacement
(Taylor linearisation) variance of a ratio estimator for cluster samples, as survey software
computes it; Kish's design effect and effective sample size.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import polars as pl
from scipy import special

Z95 = NormalDist().inv_cdf(0.975)
"""Two-sided 95 % normal quantile (1.959963984540054)."""

ArrayLike = np.ndarray | list[float] | float


def _arrays(*values: ArrayLike) -> list[np.ndarray]:
    return [np.asarray(v, dtype=float) for v in values]


def wilson_interval(k: ArrayLike, n: ArrayLike, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for k successes in n trials; stays inside [0, 1], works at 0 and 1.

    Non-integer k and n are allowed (used with an effective sample size).
    """
    k_arr, n_arr = _arrays(k, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k_arr / n_arr
        z2 = z * z
        denom = 1 + z2 / n_arr
        centre = (p + z2 / (2 * n_arr)) / denom
        half = (z / denom) * np.sqrt(p * (1 - p) / n_arr + z2 / (4 * n_arr * n_arr))
        low, high = centre - half, centre + half
    # exact bounds at the edges (floating point can leave -1e-17)
    low = np.where(k_arr <= 0, 0.0, low)
    high = np.where(k_arr >= n_arr, 1.0, high)
    invalid = ~(n_arr > 0)
    return np.where(invalid, np.nan, low), np.where(invalid, np.nan, high)


def newcombe_difference(
    k1: ArrayLike, n1: ArrayLike, k2: ArrayLike, n2: ArrayLike, z: float = Z95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Difference p1 - p2 with Newcombe's hybrid score interval (method 10).

    Returns (difference, low, high), each 0-1 scale.
    """
    k1_a, n1_a, k2_a, n2_a = _arrays(k1, n1, k2, n2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = k1_a / n1_a, k2_a / n2_a
    l1, u1 = wilson_interval(k1_a, n1_a, z)
    l2, u2 = wilson_interval(k2_a, n2_a, z)
    diff = p1 - p2
    low = diff - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return diff, low, high


def two_proportion_p_value(
    k1: ArrayLike, n1: ArrayLike, k2: ArrayLike, n2: ArrayLike
) -> np.ndarray:
    """Two-sided p-value of the pooled two-proportion z-test (= Pearson chi-square, 1 df,
    without continuity correction). NaN where a group is empty; 1 where both groups are all
    'yes' or all 'no' (no evidence of a difference)."""
    k1_a, n1_a, k2_a, n2_a = _arrays(k1, n1, k2, n2)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = (k1_a + k2_a) / (n1_a + n2_a)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1_a + 1 / n2_a))
        zstat = (k1_a / n1_a - k2_a / n2_a) / se
        p = 2 * special.ndtr(-np.abs(zstat))
    p = np.where(se == 0, 1.0, p)
    return np.where((n1_a > 0) & (n2_a > 0), p, np.nan)


@dataclass(frozen=True)
class ClusterVariance:
    """Cluster-robust variance of a proportion and what it implies."""

    p: float
    variance: float  # of p, allowing for clustering (NaN with fewer than 2 clusters)
    design_effect: float  # variance / simple random sampling variance
    n_effective: float  # n / design effect
    n_clusters: int


def cluster_variance(k_by_cluster: ArrayLike, n_by_cluster: ArrayLike) -> ClusterVariance:
    """Variance of p = sum(k) / sum(n) when answers come in clusters (inspections).

    With-replacement linearisation: var = G / (G - 1) * sum((k_i - p n_i)^2) / N^2 for G
    clusters; it equals the cluster-robust standard error of an intercept-only regression.
    Cases in one inspection share inspectors, managers and local practice, so they are not
    independent; ignoring that makes intervals too narrow.
    """
    k_arr, n_arr = _arrays(k_by_cluster, n_by_cluster)
    keep = n_arr > 0
    k_arr, n_arr = k_arr[keep], n_arr[keep]
    g, total = len(n_arr), n_arr.sum()
    if total == 0:
        return ClusterVariance(np.nan, np.nan, np.nan, np.nan, g)
    p = k_arr.sum() / total
    if g < 2:
        return ClusterVariance(p, np.nan, np.nan, np.nan, g)
    variance = g / (g - 1) * np.sum((k_arr - p * n_arr) ** 2) / total**2
    srs = p * (1 - p) / total
    if srs == 0:  # every answer the same: no sampling variance to inflate
        return ClusterVariance(p, variance, 1.0, float(total), g)
    deff = variance / srs
    return ClusterVariance(p, variance, deff, total / deff, g)


def cluster_wilson_interval(
    p: ArrayLike, n_effective: ArrayLike, z: float = Z95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson interval around p using the effective sample size (Kish): a cluster-aware
    interval that, unlike p +/- z*se, stays inside [0, 1]."""
    p_arr, n_arr = _arrays(p, n_effective)
    return wilson_interval(p_arr * n_arr, n_arr, z)


def marginal_effect(
    x: np.ndarray, beta: np.ndarray, trials: np.ndarray
) -> tuple[float, np.ndarray]:
    """Mean over cases of P(yes | group 1) - P(yes | group 0) (column 1 of `x` is the group)
    and its gradient in the coefficients, for the delta method with any covariance."""
    x1, x0 = x.copy(), x.copy()
    x1[:, 1], x0[:, 1] = 1.0, 0.0
    p1, p0 = special.expit(x1 @ beta), special.expit(x0 @ beta)
    w = trials / trials.sum()
    ame = float(np.sum(w * (p1 - p0)))
    gradient = (w[:, None] * ((p1 * (1 - p1))[:, None] * x1 - (p0 * (1 - p0))[:, None] * x0)).sum(
        axis=0
    )
    return ame, gradient


def _average_marginal_effect(
    x: np.ndarray, beta: np.ndarray, cov: np.ndarray, trials: np.ndarray
) -> tuple[float, float]:
    """`marginal_effect` and its delta-method standard error from the covariance `cov`."""
    ame, gradient = marginal_effect(x, beta, trials)
    return ame, float(np.sqrt(gradient @ cov @ gradient))


@dataclass(frozen=True)
class AdjustedDifference:
    """Case-mix-adjusted difference in sufficiency (percentage points, 0-1 scale here)."""

    difference: float  # average marginal effect of the group indicator
    se: float  # delta method with the cluster-robust covariance
    low: float
    high: float
    p_value: float
    odds_ratio: float
    n: int
    n_clusters: int
    converged: bool
    df: int = 0  # degrees of freedom of the t interval and test (clusters - 1)


def adjusted_difference(
    successes: np.ndarray,
    group: np.ndarray,
    covariates: np.ndarray,
    clusters: np.ndarray,
    trials: np.ndarray | None = None,
    z: float = Z95,
    weights: np.ndarray | None = None,
    level: float | None = None,
) -> AdjustedDifference:
    """Logistic regression of sufficiency on a 0/1 group indicator plus case-mix dummies, with
    standard errors clustered by inspection; returns the average marginal effect of the group.

    Rows may be single cases (`trials` omitted) or covariate patterns within an inspection
    (`successes` of `trials`); both give the same estimates. `weights` (per row, default 1)
    reweight cases, e.g. to post-stratify one group. The marginal effect is the weighted mean
    over cases of P(yes | group 1, case mix) - P(yes | group 0, case mix): the difference if both
    periods had the same cases. Its standard error is the delta method with the cluster-robust
    covariance and the small-sample factor G/(G-1) (N-1)/(N-K), N in cases. With `level`, the
    interval and p-value use Student's t on G - 1 degrees of freedom (few inspections); without
    it, the normal quantile `z` (as before).
    """
    successes = np.asarray(successes, dtype=float)
    trials = np.ones_like(successes) if trials is None else np.asarray(trials, dtype=float)
    weights = np.ones_like(successes) if weights is None else np.asarray(weights, dtype=float)
    covariates = np.asarray(covariates, dtype=float).reshape(len(successes), -1)
    x = np.column_stack([np.ones(len(successes)), np.asarray(group, float), covariates])
    cluster_codes = _codes(clusters)
    n_clusters = int(cluster_codes.max() + 1) if len(successes) else 0
    n_cases = int(trials.sum())
    nan = float("nan")
    failed = AdjustedDifference(nan, nan, nan, nan, nan, nan, n_cases, n_clusters, False)
    if n_clusters < 2 or len(successes) == 0:
        return failed
    fit = _fit_logistic(successes / trials, x, trials * weights, cluster_codes)
    if fit is None:
        return failed
    k = x.shape[1]
    correction = n_clusters / (n_clusters - 1) * (n_cases - 1) / max(n_cases - k, 1)
    beta = fit.params
    cov = fit.cov * correction
    ame, se = _average_marginal_effect(x, beta, cov, trials * weights)
    converged = fit.converged
    df = n_clusters - 1
    quantile, p_value = _t_or_z(ame, se, df, z, level)
    return AdjustedDifference(
        difference=ame,
        se=se,
        low=ame - quantile * se,
        high=ame + quantile * se,
        p_value=p_value,
        odds_ratio=float(np.exp(beta[1])),
        n=n_cases,
        n_clusters=n_clusters,
        converged=converged,
        df=df,
    )


@dataclass(frozen=True)
class LogisticFit:
    """Coefficients, their cluster-robust covariance (no small-sample factor) and whether
    Newton's method converged."""

    params: np.ndarray
    cov: np.ndarray
    converged: bool


LOGISTIC_MAX_ITERATIONS = 100
LOGISTIC_TOLERANCE = 1e-10
"""Relative change in deviance at which Newton's method stops (quadratic convergence: the
coefficients are then accurate to about the square root of this, far below anything shown)."""


def _fit_logistic(
    proportion: np.ndarray, x: np.ndarray, weights: np.ndarray, clusters: np.ndarray
) -> LogisticFit | None:
    """A binomial GLM (logit link, `weights` = trials x case weights) by Newton's method on the
    normal equations, with the cluster-robust sandwich covariance; None where it cannot be
    fitted (non-finite input, a singular design): reported, never guessed.

    The same model, estimator and covariance as statsmodels' `GLM(..., var_weights=weights)
    .fit(cov_type="cluster", use_correction=False)` (tests/unit/test_stats.py checks the two agree),
    without statsmodels' per-fit overhead or its SVD least squares: at scale 10 the 27
    practitioner models took 12 s through statsmodels."""
    if not (np.all(np.isfinite(proportion)) and np.all(np.isfinite(weights))):
        return None
    with np.errstate(all="ignore"):
        solved = _newton(*_collapsed(proportion, x, weights))
    if solved is None:
        return None
    beta, _, converged = solved
    mu = special.expit(x @ beta)
    cov = _cluster_covariance(x, proportion, mu, weights, clusters)
    return LogisticFit(beta, cov, converged)


def fit_binomial(
    proportion: np.ndarray, x: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, bool] | None:
    """(coefficients, converged) of the binomial GLM (logit link) of `proportion` on `x` with
    `weights` trials, by the same Newton's method as `_fit_logistic`, without a covariance (the
    caller chooses one); None where it cannot be fitted."""
    if not (np.all(np.isfinite(proportion)) and np.all(np.isfinite(weights))):
        return None
    with np.errstate(all="ignore"):
        solved = _newton(*_collapsed(proportion, x, weights))
    return None if solved is None else (solved[0], solved[2])


def _collapsed(
    proportion: np.ndarray, x: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(proportion, x, weights) with rows of equal covariates merged: the likelihood, and so
    the estimate, depends only on each covariate pattern's total weight and weighted
    proportion. Inspections are needed only for the covariance, computed once afterwards, so
    Newton's method works on the distinct patterns, whose number does not grow with the cases."""
    columns = [f"x{j}" for j in range(x.shape[1])]
    merged = (
        pl.DataFrame(x, schema=columns, orient="row")
        .with_columns(pl.Series("_w", weights), pl.Series("_wy", weights * proportion))
        .group_by(columns, maintain_order=True)
        .agg(pl.col("_w").sum(), pl.col("_wy").sum())
        .filter(pl.col("_w") > 0)
    )
    total = merged["_w"].to_numpy()
    return merged["_wy"].to_numpy() / total, merged.select(columns).to_numpy(), total


def _newton(
    proportion: np.ndarray, x: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """(coefficients, fitted probabilities, converged) by iteratively reweighted least squares
    from statsmodels' starting values; None for a singular or non-finite step."""
    eps = np.finfo(float).eps
    mu = (proportion + 0.5) / 2
    eta = special.logit(mu)
    deviance, beta = np.inf, np.zeros(x.shape[1])
    for _ in range(LOGISTIC_MAX_ITERATIONS):
        clipped = np.clip(mu, eps, 1 - eps)
        variance = clipped * (1 - clipped)
        step = _weighted_solve(x, weights * variance, eta + (proportion - mu) / variance)
        if step is None or not np.all(np.isfinite(step)):
            return None
        beta = step
        eta = x @ beta
        mu = special.expit(eta)
        previous, deviance = deviance, _binomial_deviance(proportion, mu, weights)
        if abs(previous - deviance) <= LOGISTIC_TOLERANCE * (abs(deviance) + 0.1):
            return beta, mu, True
    return beta, mu, False


def _weighted_solve(x: np.ndarray, w: np.ndarray, z: np.ndarray) -> np.ndarray | None:
    """The weighted least-squares coefficients (X'WX)^+ X'Wz; the pseudo-inverse gives the
    minimum-norm solution where dummies are collinear, as statsmodels' does."""
    xw = x * w[:, None]
    try:
        return np.asarray(np.linalg.pinv(xw.T @ x, hermitian=True) @ (xw.T @ z))
    except np.linalg.LinAlgError:
        return None


def _binomial_deviance(y: np.ndarray, mu: np.ndarray, weights: np.ndarray) -> float:
    """2 sum w [y log(y/mu) + (1-y) log((1-y)/(1-mu))], with 0 log 0 = 0."""
    eps = np.finfo(float).eps
    mu = np.clip(mu, eps, 1 - eps)
    terms = special.xlogy(y, y / mu) + special.xlogy(1 - y, (1 - y) / (1 - mu))
    return float(2 * np.sum(weights * terms))


def _cluster_covariance(
    x: np.ndarray, y: np.ndarray, mu: np.ndarray, weights: np.ndarray, clusters: np.ndarray
) -> np.ndarray:
    """H^-1 (sum over clusters of u_g u_g') H^-1, with u_g the cluster's summed scores
    w (y - mu) x and H the information X' diag(w mu (1 - mu)) X."""
    scores = (weights * (y - mu))[:, None] * x
    n_clusters = int(clusters.max()) + 1
    summed = np.stack(
        [
            np.bincount(clusters, weights=scores[:, j], minlength=n_clusters)
            for j in range(x.shape[1])
        ],
        axis=1,
    )
    information = (x * (weights * mu * (1 - mu))[:, None]).T @ x
    inverse = np.linalg.pinv(information, hermitian=True)
    return np.asarray(inverse @ (summed.T @ summed) @ inverse)


def _codes(values: np.ndarray) -> np.ndarray:
    """0, 1, ... for each distinct value in sorted order (NumPy's `unique(return_inverse)`),
    hashed by Polars: sorting inspection ids as Python strings was a fifth of a model's time."""
    series = pl.Series(np.asarray(values))
    return (series.rank("dense") - 1).cast(pl.Int64).to_numpy()


def _t_or_z(
    estimate: float, se: float, df: int, z: float, level: float | None
) -> tuple[float, float]:
    """Interval quantile and two-sided p-value: Student's t on `df` when `level` is given."""
    from pipeline.statistics import distributions as dist

    if not se > 0:
        return (z if level is None else float("nan")), float("nan")
    if level is None:
        return z, float(2 * special.ndtr(-abs(estimate / se)))
    return float(dist.t_ppf(0.5 + level / 2, df)), float(2 * dist.t_sf(abs(estimate / se), df))
