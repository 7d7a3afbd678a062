"""Funnel limits with over-dispersion, and shrunken estimates."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from pipeline.tables import funnels


def test_no_overdispersion_when_units_vary_by_chance_alone() -> None:
    rng = np.random.default_rng(1)
    n = rng.integers(30, 300, 200).astype(float)
    p = rng.binomial(n.astype(int), 0.3) / n
    phi, tau2 = funnels.overdispersion(p, n, 0.3)
    # winsorising at 10% each side shrinks a standard normal's mean square to about 0.7
    assert 0.55 < phi < 1.0
    assert tau2 == 0


def test_between_unit_variance_is_found_when_units_really_differ() -> None:
    rng = np.random.default_rng(2)
    n = np.full(300, 200.0)
    true = np.clip(rng.normal(0.3, 0.08, 300), 0.01, 0.99)
    p = rng.binomial(200, true) / n
    phi, tau2 = funnels.overdispersion(p, n, 0.3)
    # the same formulas written independently: scipy's winsorize, DerSimonian-Laird
    from scipy.stats.mstats import winsorize

    s2 = 0.21 / n
    z = np.asarray(winsorize((p - 0.3) / np.sqrt(s2), limits=(0.1, 0.1)))
    w = 1 / s2
    expected = (300 * np.mean(z**2) - 299) / (w.sum() - (w**2).sum() / w.sum())
    assert phi == pytest.approx(np.mean(z**2), rel=0.02)
    assert tau2 == pytest.approx(expected, rel=0.02)
    assert tau2 > 0.5 * 0.08**2  # a real between-unit spread is found


def test_limits_narrow_with_size_and_shrinkage_pulls_towards_the_target() -> None:
    units = pl.DataFrame({"n_yes": [5, 30, 150, 90], "n_applicable": [20, 100, 500, 150]})
    rows = funnels.funnel_rows(units, 0.3)
    widths = (rows["upper_95"] - rows["lower_95"]).to_list()
    assert widths[0] > widths[1] > widths[2]
    assert ((rows["upper_998"] >= rows["upper_95"]) & (rows["lower_998"] <= rows["lower_95"])).all()
    p = 100 * rows["n_yes"] / rows["n_applicable"]
    assert ((rows["pct_shrunk"] - 30).abs() <= (p - 30).abs() + 1e-9).all()


def test_hand_worked_limit_without_overdispersion() -> None:
    units = pl.DataFrame({"n_yes": [30, 30], "n_applicable": [100, 100]})
    row = funnels.funnel_rows(units, 0.3).row(0, named=True)
    assert row["between_unit_variance_pp2"] == 0
    assert row["upper_95"] == pytest.approx(100 * (0.3 + 1.959964 * np.sqrt(0.21 / 100)), abs=1e-4)
