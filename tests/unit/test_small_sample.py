"""CR2 with Bell-McCaffrey degrees of freedom, against independent implementations: statsmodels'
HC2 (one row per cluster), scipy's Welch-Satterthwaite degrees of freedom (a difference of two
means), and a hand-worked clustered case."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from pipeline.statistics.small_sample import cr2_wls


def test_one_row_per_cluster_equals_statsmodels_hc2_for_weighted_least_squares() -> None:
    rng = np.random.default_rng(7)
    n = 23
    x = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n), rng.normal(size=n)])
    weights = rng.integers(5, 60, n).astype(float)
    y = x @ [0.5, 0.1, -0.2, 0.05] + rng.normal(scale=0.3, size=n) / np.sqrt(weights)
    fit = cr2_wls(y, x, weights, np.arange(n))
    reference = sm.WLS(y, x, weights=weights).fit(cov_type="HC2")
    np.testing.assert_allclose(fit.beta, reference.params, rtol=1e-10)
    np.testing.assert_allclose(fit.cov, reference.cov_params(), rtol=1e-8)


def test_bell_mccaffrey_df_of_a_difference_of_means() -> None:
    """For y on a constant and a group indicator, CR2 (one row per cluster) is the Welch variance,
    and the Bell-McCaffrey degrees of freedom are the Welch-Satterthwaite ones evaluated under the
    working model of equal variances (Imbens and Kolesar 2016, section 3): they depend on the
    design only. Hand-worked for 6 and 9: (1/6 + 1/9)^2 / (1/(36*5) + 1/(81*8)) = 10.8696; scipy
    gives the same on samples whose variances are equal."""
    a = np.array([3.1, 2.7, 4.0, 3.3, 2.2, 3.9])
    b = np.array([5.0, 1.2, 7.7, 2.9, 6.1, 4.4, 0.8, 5.5, 3.0])
    y = np.concatenate([a, b])
    x = np.column_stack([np.ones(len(y)), np.r_[np.zeros(len(a)), np.ones(len(b))]])
    fit = cr2_wls(y, x, np.ones(len(y)), np.arange(len(y)))
    welch = stats.ttest_ind(b, a, equal_var=False)
    variance = a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)
    assert fit.cov[1, 1] == pytest.approx(variance, rel=1e-12)
    assert fit.beta[1] / np.sqrt(fit.cov[1, 1]) == pytest.approx(welch.statistic, rel=1e-10)
    by_hand = (1 / 6 + 1 / 9) ** 2 / (1 / (36 * 5) + 1 / (81 * 8))
    assert fit.df(1) == pytest.approx(by_hand, rel=1e-12)
    equal = stats.ttest_ind(b / b.std(ddof=1), a / a.std(ddof=1), equal_var=False)
    assert fit.df(1) == pytest.approx(equal.df, rel=1e-12)


def test_a_hand_worked_clustered_mean() -> None:
    """The mean of y with two clusters {1, 2} and {6}: H is 1/3 everywhere, so
    A_1 = (I - J/3)^(-1/2) for the 2 x 2 block and A_2 = (2/3)^(-1/2). Worked by hand:
    residuals (-2, -1) and 3; I - J/3 on the first block has eigenvalues 1 (vector (1,-1)) and
    1/3 (vector (1,1)), so A_1 e_1 = sqrt(3) * (-1.5, -1.5) + 1 * (-0.5, 0.5); its sum is
    -3 sqrt(3). A_2 e_2 = 3 sqrt(3/2). Variance = (27 + 13.5) / 9 = 4.5."""
    y = np.array([1.0, 2.0, 6.0])
    fit = cr2_wls(y, np.ones((3, 1)), np.ones(3), np.array([1, 1, 2]))
    assert fit.beta[0] == pytest.approx(3.0)
    assert fit.cov[0, 0] == pytest.approx(4.5, rel=1e-12)


def test_few_clusters_get_fewer_degrees_of_freedom_than_clusters_minus_one() -> None:
    """With one high-leverage cluster the Bell-McCaffrey degrees of freedom fall well below
    G - 1 (what CR1 used), which is the point of using them."""
    rng = np.random.default_rng(3)
    clusters = np.repeat(np.arange(12), 4)
    time = np.repeat(np.r_[np.arange(11), 40.0], 4)
    x = np.column_stack([np.ones(48), time])
    y = 0.5 + 0.01 * time + rng.normal(scale=0.1, size=48)
    fit = cr2_wls(y, x, np.ones(48), clusters)
    assert fit.df(1) < 11 / 2


def test_the_binomial_fit_equals_statsmodels_glm() -> None:
    from pipeline.statistics.small_sample import cr2_binomial

    rng = np.random.default_rng(21)
    n = 25
    x = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)])
    trials = rng.integers(10, 60, n).astype(float)
    k = rng.binomial(trials.astype(int), 1 / (1 + np.exp(-(x @ [-0.3, 0.4, -0.6]))))
    fitted = cr2_binomial(k / trials, x, trials, np.arange(n))
    assert fitted is not None
    fit, converged = fitted
    reference = sm.GLM(k / trials, x, family=sm.families.Binomial(), var_weights=trials).fit()
    assert converged
    np.testing.assert_allclose(fit.beta, reference.params, rtol=1e-7)


def test_a_step_on_the_share_scale_is_the_difference_of_the_two_shares() -> None:
    """With only a constant and a step, the step effect at the breakpoint is exactly the share
    after minus the share before (pooled over inspections): 45/100 - 30/100 = 15 points."""
    from pipeline.statistics.small_sample import cr2_binomial
    from pipeline.tables.its import SegmentedFit

    k = np.array([10.0, 20.0, 15.0, 30.0])
    m = np.array([40.0, 60.0, 50.0, 50.0])
    x = np.column_stack([np.ones(4), [0.0, 0.0, 1.0, 1.0]])
    fitted = cr2_binomial(k / m, x, m, np.arange(4))
    assert fitted is not None
    effect = SegmentedFit(("intercept", "step"), fitted[0]).estimate("step")
    assert effect == pytest.approx(100 * (45 / 100 - 30 / 100), abs=1e-6)


def test_a_marginal_effect_of_two_groups_by_hand() -> None:
    """One case per inspection, no case mix: the effect is p1 - p0; its CR2 variance is
    p1(1-p1)/(n1-1) + p0(1-p0)/(n0-1) (HC2 of a difference of two means of 0/1 data); and the
    Bell-McCaffrey degrees of freedom under the binomial working model are Welch-Satterthwaite's
    with the variances p(1-p)."""
    from pipeline.statistics.small_sample import cr2_marginal_effect

    y = np.r_[np.ones(7), np.zeros(5), np.ones(4), np.zeros(10)]
    group = np.r_[np.zeros(12), np.ones(14)]
    effect = cr2_marginal_effect(
        y, np.column_stack([np.ones(26), group]), np.ones(26), np.arange(26)
    )
    assert effect is not None
    p0, p1, n0, n1 = 7 / 12, 4 / 14, 12, 14
    v0, v1 = p0 * (1 - p0), p1 * (1 - p1)
    assert effect.estimate == pytest.approx(p1 - p0, abs=1e-9)
    assert effect.se**2 == pytest.approx(v1 / (n1 - 1) + v0 / (n0 - 1), rel=1e-8)
    welch = (v1 / n1 + v0 / n0) ** 2 / (v1**2 / (n1**2 * (n1 - 1)) + v0**2 / (n0**2 * (n0 - 1)))
    assert effect.df == pytest.approx(welch, rel=1e-8)
