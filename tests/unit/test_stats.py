"""Statistics checked against independent references (statsmodels, scipy) and hand-worked cases."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.stats import chi2_contingency
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from pipeline.statistics import stats

RNG = np.random.default_rng(12345)
N_RANDOM = 300


def _random_counts(size: int) -> tuple[np.ndarray, np.ndarray]:
    n = RNG.integers(1, 400, size)
    k = RNG.binomial(n, RNG.uniform(0, 1, size))
    # force the edges into the sample: 0 %, 100 %, n = 1
    n[:6] = [1, 1, 5, 5, 2, 1]
    k[:6] = [0, 1, 0, 5, 1, 0]
    return k, n


def test_z95() -> None:
    assert pytest.approx(1.959963984540054, abs=1e-15) == stats.Z95


def test_wilson_matches_statsmodels() -> None:
    k, n = _random_counts(N_RANDOM)
    low, high = stats.wilson_interval(k, n)
    ref_low, ref_high = proportion_confint(k, n, alpha=0.05, method="wilson")
    np.testing.assert_allclose(low, ref_low, rtol=0, atol=1e-9)
    np.testing.assert_allclose(high, ref_high, rtol=0, atol=1e-9)


def test_wilson_hand_worked() -> None:
    z2 = stats.Z95**2
    low, high = stats.wilson_interval([0, 1, 5], [1, 1, 10])
    assert low[0] == 0
    assert high[0] == pytest.approx(z2 / (1 + z2), abs=1e-12)
    assert low[1] == pytest.approx(1 / (1 + z2), abs=1e-12)
    assert high[1] == 1
    assert (low[2] + high[2]) / 2 == pytest.approx(0.5, abs=1e-12)  # symmetric at 50 %
    nan_low, nan_high = stats.wilson_interval([0], [0])
    assert np.isnan(nan_low[0])
    assert np.isnan(nan_high[0])


def test_newcombe_matches_statsmodels() -> None:
    k1, n1 = _random_counts(N_RANDOM)
    k2, n2 = _random_counts(N_RANDOM)
    diff, low, high = stats.newcombe_difference(k1, n1, k2, n2)
    for i in range(N_RANDOM):
        ref_low, ref_high = confint_proportions_2indep(
            k1[i], n1[i], k2[i], n2[i], method="newcomb", compare="diff", alpha=0.05
        )
        assert diff[i] == pytest.approx(k1[i] / n1[i] - k2[i] / n2[i], abs=1e-12)
        assert low[i] == pytest.approx(ref_low, abs=1e-9), i
        assert high[i] == pytest.approx(ref_high, abs=1e-9), i


def test_p_value_matches_statsmodels_and_scipy() -> None:
    k1, n1 = _random_counts(N_RANDOM)
    k2, n2 = _random_counts(N_RANDOM)
    p = stats.two_proportion_p_value(k1, n1, k2, n2)
    for i in range(N_RANDOM):
        pooled = (k1[i] + k2[i]) / (n1[i] + n2[i])
        if pooled in (0, 1):
            assert p[i] == 1.0  # identical all-yes / all-no groups
            continue
        _, ref = proportions_ztest([k1[i], k2[i]], [n1[i], n2[i]])
        assert p[i] == pytest.approx(ref, abs=1e-9), i
        table = [[k1[i], n1[i] - k1[i]], [k2[i], n2[i] - k2[i]]]
        if min(min(r) for r in table) >= 0 and all(sum(c) > 0 for c in zip(*table, strict=True)):
            assert p[i] == pytest.approx(chi2_contingency(table, correction=False)[1], abs=1e-9)


def test_cluster_variance_matches_cluster_robust_regression() -> None:
    for _ in range(25):
        sizes = RNG.integers(1, 60, RNG.integers(2, 40))
        effects = RNG.normal(0, 0.8, len(sizes))
        y = np.concatenate(
            [
                RNG.binomial(1, 1 / (1 + np.exp(-(0.2 + e))), m)
                for e, m in zip(effects, sizes, strict=True)
            ]
        )
        groups = np.repeat(np.arange(len(sizes)), sizes)
        if y.min() == y.max():
            continue
        ref = sm.OLS(y, np.ones(len(y))).fit(cov_type="cluster", cov_kwds={"groups": groups})
        k = np.bincount(groups, weights=y)
        result = stats.cluster_variance(k, sizes)
        assert result.p == pytest.approx(y.mean(), abs=1e-12)
        assert result.variance == pytest.approx(float(ref.bse[0]) ** 2, abs=1e-12, rel=1e-9)
        srs = y.mean() * (1 - y.mean()) / len(y)
        assert result.design_effect == pytest.approx(result.variance / srs, rel=1e-12)


def test_cluster_variance_edges() -> None:
    single = stats.cluster_variance([3], [10])
    assert single.p == 0.3
    assert np.isnan(single.variance)
    assert single.n_clusters == 1
    assert np.isnan(stats.cluster_variance([0, 0], [0, 0]).p)
    constant = stats.cluster_variance([5, 7], [5, 7])
    assert constant.design_effect == 1.0
    assert constant.n_effective == 12


def test_clustered_data_widen_the_interval() -> None:
    """Strong inspection effects give a design effect well above 1 and a wider interval."""
    sizes = np.full(30, 50)
    effects = RNG.normal(0, 1.0, 30)
    k = RNG.binomial(sizes, 1 / (1 + np.exp(-effects)))
    result = stats.cluster_variance(k, sizes)
    assert result.design_effect > 3
    low, high = stats.wilson_interval(k.sum(), sizes.sum())
    c_low, c_high = stats.cluster_wilson_interval(result.p, result.n_effective)
    assert (c_high - c_low) > 1.5 * (high - low)


def _simulated_cases(
    n: int, era_effect: float, n_clusters: int = 80, seed: int = 7
) -> dict[str, np.ndarray]:
    """Cases whose risk mix differs by era (as CRC vs PS did), with inspection clusters."""
    rng = np.random.default_rng(seed)
    clusters = rng.integers(0, n_clusters, n)
    post = (clusters >= n_clusters // 2).astype(float)
    high_risk = rng.binomial(1, np.where(post == 1, 0.45, 0.1))
    licence = rng.binomial(1, 0.4, n)
    cluster_effect = rng.normal(0, 0.3, n_clusters)[clusters]
    eta = 0.3 + era_effect * post - 1.2 * high_risk - 0.2 * licence + cluster_effect
    y = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    return {"y": y, "post": post, "x": np.column_stack([high_risk, licence]), "g": clusters}


def test_adjusted_difference_matches_statsmodels() -> None:
    data = _simulated_cases(4000, -0.3)
    result = stats.adjusted_difference(data["y"], data["post"], data["x"], data["g"])
    design = np.column_stack([np.ones(4000), data["post"], data["x"]])
    # an independent fit: GLM with a binomial family and cluster-robust covariance
    glm = sm.GLM(data["y"], design, family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": data["g"]}
    )
    assert result.odds_ratio == pytest.approx(np.exp(glm.params[1]), rel=1e-7)
    logit = sm.Logit(data["y"], design).fit(
        disp=0, cov_type="cluster", cov_kwds={"groups": data["g"]}
    )
    margeff = logit.get_margeff(at="overall", method="dydx", dummy=True)
    # statsmodels differentiates numerically for the standard error: agree to 1e-6
    assert result.difference == pytest.approx(margeff.margeff[0], abs=1e-9)
    assert result.se == pytest.approx(margeff.margeff_se[0], abs=1e-6)
    assert result.converged
    assert result.n_clusters == 80


def test_aggregated_patterns_give_the_same_answer_as_cases() -> None:
    data = _simulated_cases(6000, -0.3)
    case_level = stats.adjusted_difference(data["y"], data["post"], data["x"], data["g"])
    import polars as pl

    frame = pl.DataFrame(
        {
            "y": data["y"],
            "post": data["post"],
            "h": data["x"][:, 0],
            "l": data["x"][:, 1],
            "g": data["g"],
        }
    )
    patterns = (
        frame.group_by("g", "post", "h", "l")
        .agg(pl.col("y").sum().alias("k"), pl.len().alias("n"))
        .sort("g", "post", "h", "l")
    )
    grouped = stats.adjusted_difference(
        patterns["k"].to_numpy(),
        patterns["post"].to_numpy(),
        patterns.select("h", "l").to_numpy(),
        patterns["g"].to_numpy(),
        trials=patterns["n"].to_numpy(),
    )
    assert grouped.n == 6000
    assert patterns.height < 1000
    assert grouped.difference == pytest.approx(case_level.difference, abs=1e-9)
    assert grouped.se == pytest.approx(case_level.se, abs=1e-9)
    assert grouped.odds_ratio == pytest.approx(case_level.odds_ratio, rel=1e-8)


def test_adjustment_removes_confounding_by_case_mix() -> None:
    """No true era effect, but riskier cases after: raw difference is negative, adjusted ~0."""
    data = _simulated_cases(40000, 0.0, n_clusters=400)
    y, post = data["y"], data["post"]
    raw = y[post == 1].mean() - y[post == 0].mean()
    adjusted = stats.adjusted_difference(y, post, data["x"], data["g"])
    assert raw < -0.05
    assert adjusted.low < 0 < adjusted.high
    assert abs(adjusted.difference) < abs(raw) / 3


def test_distribution_functions_are_bit_identical_to_scipy_stats() -> None:
    """`distributions` replaces scipy.stats (an import of 0.65 s) with the special functions it
    calls: the quantiles and tails must be exactly equal, edges included."""
    from scipy import stats as sps

    from pipeline.statistics import distributions as dist

    rng = np.random.default_rng(7)
    q = np.concatenate([rng.uniform(0, 1, 5000), [0.0, 1.0, 0.5, 0.975, 0.8]])
    df = np.concatenate([rng.integers(1, 400, 5000).astype(float), [1.0, 2.0, 3.0, 30.0, 1e6]])
    x = rng.normal(0, 4, q.size)
    a = rng.uniform(0.01, 3000, q.size)
    b = rng.uniform(0.01, 3000, q.size)
    assert np.array_equal(dist.t_ppf(q, df), sps.t.ppf(q, df), equal_nan=True)
    assert np.array_equal(dist.t_sf(x, df), sps.t.sf(x, df), equal_nan=True)
    assert np.array_equal(dist.norm_ppf(q), sps.norm.ppf(q), equal_nan=True)
    assert np.array_equal(dist.beta_ppf(q, a, b), sps.beta.ppf(q, a, b), equal_nan=True)
    assert dist.t_ppf(0.975, 14) == sps.t.ppf(0.975, 14)  # scalars, as the tables call them


def test_logistic_fit_matches_statsmodels_glm_with_weights_and_clusters() -> None:
    """The Newton fit against statsmodels' GLM (binomial, var_weights, cluster covariance
    without the small-sample factor) on weighted covariate patterns."""
    rng = np.random.default_rng(11)
    n = 600
    x = np.column_stack([np.ones(n), rng.binomial(1, 0.5, n), rng.binomial(1, 0.3, (n, 3))])
    trials = rng.integers(1, 9, n).astype(float)
    weights = trials * rng.uniform(0.5, 2.0, n)
    eta = x @ np.array([0.2, -0.4, 0.8, -0.5, 0.3])
    proportion = rng.binomial(trials.astype(int), 1 / (1 + np.exp(-eta))) / trials
    clusters = rng.integers(0, 40, n)
    fit = stats._fit_logistic(proportion, x, weights, clusters)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels warns that var_weights + cluster is new
        glm = sm.GLM(proportion, x, family=sm.families.Binomial(), var_weights=weights).fit(
            cov_type="cluster", cov_kwds={"groups": clusters, "use_correction": False}
        )
    assert fit is not None
    assert fit.converged
    np.testing.assert_allclose(fit.params, glm.params, rtol=1e-7)
    np.testing.assert_allclose(fit.cov, glm.cov_params(), rtol=1e-6)


def test_separated_dummy_leaves_the_marginal_effect_identified() -> None:
    """A category whose cases are all sufficient sends its coefficient off to infinity; the
    fit stops anyway and the group's marginal effect agrees with statsmodels'."""
    data = _simulated_cases(3000, -0.3)
    separated = np.zeros(3000)
    separated[:40] = 1.0
    y = data["y"].copy()
    y[:40] = 1
    covariates = np.column_stack([data["x"], separated])
    ours = stats.adjusted_difference(y, data["post"], covariates, data["g"])
    design = np.column_stack([np.ones(3000), data["post"], covariates])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        glm = sm.GLM(y, design, family=sm.families.Binomial()).fit(
            cov_type="cluster", cov_kwds={"groups": data["g"], "use_correction": False}
        )
    p1 = design.copy()
    p1[:, 1] = 1
    p0 = design.copy()
    p0[:, 1] = 0
    theirs = float(np.mean(glm.predict(p1) - glm.predict(p0)))
    assert ours.difference == pytest.approx(theirs, abs=1e-7)
    assert np.isfinite(ours.se)
