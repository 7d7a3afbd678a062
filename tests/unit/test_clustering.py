"""Clustered inference: ICC, design effects, Korn-Graubard intervals, clustered differences,
multiplicity; each against statsmodels / scipy or a hand-worked case, plus coverage simulations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from pipeline.statistics import clustering, multiplicity


def test_icc_equals_reml_on_balanced_clusters() -> None:
    """On balanced data the ANOVA estimator equals the REML random-intercept estimate."""
    rng = np.random.default_rng(1)
    clusters, size = 40, 30
    effect = rng.normal(0, 0.12, clusters)
    p = np.clip(0.4 + effect, 0.02, 0.98)
    y = (rng.random((clusters, size)) < p[:, None]).astype(float)
    ours = clustering.icc_anova(y.sum(axis=1), np.full(clusters, size))
    frame = pd.DataFrame({"y": y.ravel(), "g": np.repeat(np.arange(clusters), size)})
    fit = smf.mixedlm("y ~ 1", frame, groups=frame["g"]).fit(reml=True)
    between = float(fit.cov_re.iloc[0, 0])
    reml = between / (between + fit.scale)
    assert ours.rho == pytest.approx(reml, abs=1e-5)  # REML is found numerically


def test_icc_with_strata_removes_stratum_differences() -> None:
    """Two strata at very different levels, no clustering within them: rho is about 0 with
    strata, large without."""
    rng = np.random.default_rng(2)
    m = np.full(40, 50)
    level = np.repeat([0.2, 0.8], 20)
    k = rng.binomial(50, level)
    assert clustering.icc_anova(k, m, strata=np.repeat([0, 1], 20)).rho < 0.02
    assert clustering.icc_anova(k, m).rho > 0.2


def test_design_effect_hand_worked() -> None:
    # clusters of 10 and 30: m_w = (100 + 900) / 40 = 25; 1 + 24 x 0.05 = 2.2
    assert clustering.design_effect(40, 1000, 0.05) == pytest.approx(2.2)


def test_korn_graubard_with_large_df_is_clopper_pearson_on_effective_n() -> None:
    low, high = clustering.korn_graubard_interval(
        np.array([0.3]), np.array([50.0]), np.array([1e6])
    )
    ref = proportion_confint(15, 50, alpha=0.05, method="beta")
    assert low[0] == pytest.approx(ref[0], abs=1e-6)
    assert high[0] == pytest.approx(ref[1], abs=1e-6)


def test_korn_graubard_widens_with_fewer_degrees_of_freedom() -> None:
    p, n = np.array([0.3, 0.3, 0.0]), np.array([60.0, 60.0, 60.0])
    low, high = clustering.korn_graubard_interval(p, n, np.array([3.0, 100.0, 3.0]))
    assert high[0] - low[0] > high[1] - low[1]
    assert low[2] == 0
    assert 0 < high[2] < 1


def test_clustered_difference_matches_a_hand_worked_t_interval() -> None:
    out = clustering.clustered_difference(0.5, 0.01, 0.3, 0.0125, 6)
    se = np.sqrt(0.0225)
    t = sps.t.ppf(0.975, 6)
    assert out.low == pytest.approx(0.2 - t * se)
    assert out.high == pytest.approx(0.2 + t * se)
    assert out.p_value == pytest.approx(2 * sps.t.sf(0.2 / se, 6))


def test_minimum_detectable_difference_hand_worked() -> None:
    mdd = clustering.minimum_detectable_difference(0.05, 20)
    assert mdd == pytest.approx((sps.t.ppf(0.975, 20) + sps.t.ppf(0.8, 20)) * 0.05)


@pytest.mark.parametrize("method", ["holm", "fdr_bh"])
def test_adjusted_p_values_match_statsmodels(method: str) -> None:
    rng = np.random.default_rng(4)
    p = np.concatenate([rng.uniform(0, 0.05, 20), rng.uniform(0, 1, 124), [np.nan] * 3])
    ours = multiplicity.holm(p) if method == "holm" else multiplicity.benjamini_hochberg(p)
    ref = multipletests(p[:-3], method=method)[1]
    np.testing.assert_allclose(ours[:-3], ref, atol=1e-12)
    assert np.isnan(ours[-3:]).all()


def test_holm_hand_worked() -> None:
    """Four p-values by hand: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 are 0.02, 0.03,
    0.06, 0.04; the running maximum makes the last 0.06."""
    adjusted = multiplicity.holm(np.array([0.01, 0.04, 0.03, 0.005, np.nan]))
    np.testing.assert_allclose(adjusted[:4], [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(adjusted[4])
