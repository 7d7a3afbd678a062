"""Segmented regression: the clustered fit against statsmodels, a known step recovered, and the
table's sensitivity analyses."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pytest
import statsmodels.formula.api as smf

from pipeline import refdata
from pipeline.statistics.small_sample import cr2_wls
from pipeline.tables import its


def test_the_inspection_level_fit_equals_the_case_level_fit() -> None:
    """Inspection proportions weighted by cases give the case-level OLS estimates (statsmodels),
    and CR2 clustered by inspection is the same whether computed on inspections or on cases
    (the hat matrix's cluster block acts only on the inspection's mean)."""
    rng = np.random.default_rng(5)
    inspections = 30
    sizes = rng.integers(20, 60, inspections)
    time = np.sort(rng.uniform(-3, 4, inspections))
    post = (time >= 0).astype(float)
    rate = np.clip(0.5 - 0.02 * time - 0.1 * post + rng.normal(0, 0.05, inspections), 0.05, 0.95)
    k = rng.binomial(sizes, rate)
    y_cases = np.concatenate(
        [np.r_[np.ones(a), np.zeros(n - a)] for a, n in zip(k, sizes, strict=True)]
    )
    cases = pd.DataFrame(
        {"y": y_cases, "time": np.repeat(time, sizes), "post": np.repeat(post, sizes)}
    )
    cases["slope"] = cases["time"] * cases["post"]
    ref = smf.ols("y ~ time + post + slope", cases).fit()
    x = np.column_stack([np.ones(inspections), time, post, time * post])
    fit = cr2_wls(k / sizes, x, sizes.astype(float), np.arange(inspections))
    np.testing.assert_allclose(fit.beta, ref.params.to_numpy(), atol=1e-10)
    case_level = cr2_wls(
        y_cases, np.repeat(x, sizes, axis=0), np.ones(len(y_cases)), np.repeat(np.arange(30), sizes)
    )
    np.testing.assert_allclose(fit.cov, case_level.cov, rtol=1e-8)
    assert fit.df(2) == pytest.approx(case_level.df(2), rel=1e-8)
    assert fit.df(2) < inspections - 1


def _context(step: float) -> pl.LazyFrame:
    """A minimal answers-in-context frame: 40 inspections 2018-2025, a step at unification."""
    rng = np.random.default_rng(9)
    rows = []
    for i in range(40):
        start = dt.date(2018, 1, 1) + dt.timedelta(days=int(i * 2900 / 40))
        post = start >= dt.date(2021, 6, 26)
        rate = 0.5 + (step if post else 0.0)
        for c in range(50):
            rows.append(
                {
                    "inspection_id": f"I{i}",
                    "case_id": f"C{c}",
                    "series": "core",
                    "programme": "pdu_2021" if post else "crc_nps_2018",
                    "region": "Wales",
                    "framework": "2021" if post else "2018",
                    "comparable_id": "IMPL_SAFE",
                    "answer": "yes" if rng.random() < rate else "no",
                    "fieldwork_start": start,
                    "start_date": start - dt.timedelta(days=200),
                }
            )
    return pl.DataFrame(rows).lazy()


def test_a_known_step_is_recovered() -> None:
    table = its.its_table(_context(-0.2))
    main = table.filter(pl.col("model") == "main", pl.col("scope") == "England and Wales").row(
        0, named=True
    )
    assert main["step_pp_ci_low"] < -20 < main["step_pp_ci_high"]
    assert main["step_pp_p_value"] < 0.01
    flat = its.its_table(_context(0.0)).filter(
        pl.col("model") == "main", pl.col("scope") == "Wales"
    )
    assert flat["step_pp_ci_low"][0] < 0 < flat["step_pp_ci_high"][0]


def test_inspection_leverage_sums_the_weighted_hat_values() -> None:
    """Hat values computed another way (QR of sqrt(w) X: h = row sums of Q squared), summed
    over each inspection's rows."""
    rng = np.random.default_rng(3)
    x = np.column_stack([np.ones(12), np.arange(12.0), (np.arange(12) > 6).astype(float)])
    weights = rng.integers(5, 40, 12).astype(float)
    inspections = pl.Series([f"I{i // 2}" for i in range(12)])  # two rows per inspection
    q, _ = np.linalg.qr(np.sqrt(weights)[:, None] * x)
    hats = (q**2).sum(axis=1)
    per_inspection = [hats[i : i + 2].sum() for i in range(0, 12, 2)]
    assert its.inspection_leverage(x, weights, inspections) == pytest.approx(max(per_inspection))


def test_a_fit_one_inspection_determines_or_beyond_the_scale_is_withheld() -> None:
    settings = refdata.settings()
    base = {"step_pp_estimate": -12.0, "step_pp_ci_low": -30.0, "step_pp_ci_high": 6.0,
            "covid_pp": 3.0, "max_leverage": 0.4, "note": None}  # fmt: skip
    assert its._withheld_if_unidentified(dict(base), settings)["step_pp_estimate"] == -12.0
    leveraged = its._withheld_if_unidentified({**base, "max_leverage": 0.95}, settings)
    assert leveraged["step_pp_estimate"] is None
    assert "leverage 0.95" in leveraged["note"]
    beyond = its._withheld_if_unidentified({**base, "step_pp_ci_low": -325.0}, settings)
    assert beyond["step_pp_estimate"] is None
    assert "beyond what a share can move" in beyond["note"]
