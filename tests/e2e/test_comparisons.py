"""Before/after comparisons: post-stratification, clustered t intervals, withheld comparisons,
multiplicity flags and minimum detectable differences, against independent computations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from pipeline.config import Settings
from pipeline.statistics import adjustment


def _core(rows: list[tuple[str, str, str, int, int]]) -> pl.LazyFrame:
    """Answers for one key question in one scope: (inspection, era, provider, yes, no)."""
    records = []
    for inspection, era, provider, yes, no in rows:
        for answer, count in (("yes", yes), ("no", no)):
            records += [
                {
                    "comparable_id": "IMPL_SAFE",
                    "scope": "Wales",
                    "inspection_id": inspection,
                    "era": era,
                    "provider": provider,
                    "answer": answer,
                    "rosh": "medium",
                    "case_type": "community",
                    "gender": "male",
                    "age_band": "25-34",
                }
            ] * count
    return pl.DataFrame(records).lazy()


def test_post_stratification_reweights_the_providers_before_unification() -> None:
    """No case-mix variation: the adjusted difference is post minus the pre level with CRC and
    NPS weighted to their caseload shares (here 58% / 42%), not to the sample's 90% / 10%."""
    rows = [
        ("C1", "pre_unification", "CRC", 30, 30),
        ("C2", "pre_unification", "CRC", 25, 35),
        ("C3", "pre_unification", "CRC", 28, 32),
        ("N1", "pre_unification", "NPS", 18, 2),
        ("P1", "post_unification", "PS", 20, 40),
        ("P2", "post_unification", "PS", 22, 38),
        ("P3", "post_unification", "PS", 18, 42),
    ]
    shares = {"Wales": {"CRC": 0.58, "NPS": 0.42}}
    out = adjustment.adjusted_differences(_core(rows), 10, 0.95, shares).row(0, named=True)
    p_crc, p_nps, p_post = 83 / 180, 18 / 20, 60 / 180
    expected = p_post - (0.58 * p_crc + 0.42 * p_nps)
    assert out["adjusted_diff_pp"] == pytest.approx(100 * expected, abs=1e-6)
    unweighted = p_post - 101 / 200
    assert abs(out["adjusted_diff_pp"] - 100 * unweighted) > 5  # the weighting matters here
    t = sps.t.ppf(0.975, out["adjusted_df"])
    assert 1 < out["adjusted_df"] < 6  # Bell-McCaffrey: fewer than the 7 inspections - 1
    assert out["adjusted_ci_high"] - out["adjusted_diff_pp"] == pytest.approx(
        t * out["adjusted_se_pp"], rel=1e-9
    )


def _unification(run: Path) -> pl.DataFrame:
    return pl.read_parquet(run / "tables" / "unification.parquet").filter(~pl.col("suppressed"))


def test_thin_comparisons_are_withheld_with_a_reason(sample_release: Path) -> None:
    table = _unification(sample_release)
    least = Settings().min_inspections_per_era
    thin = table.filter(
        (pl.col("n_inspections_pre") < least) | (pl.col("n_inspections_post") < least)
    )
    assert thin.height > 0
    for column in ("diff_pp", "diff_clustered_pp", "adjusted_diff_pp", "p_value_holm", "mdd_pp"):
        assert thin[column].is_null().all(), column
    assert thin["comparison_note"].str.contains("withheld").all()
    assert thin["pct_pre"].is_not_null().all()
    assert thin["pct_post"].is_not_null().all()
    kept = table.filter(pl.col("comparison_note").is_null())
    assert kept.height > 0
    assert kept["adjusted_diff_pp"].is_not_null().all()


def test_multiplicity_flags_match_statsmodels_within_each_family(sample_run: Path) -> None:
    table = pl.read_parquet(sample_run / "tables" / "unification.parquet")
    for family, group in table.group_by("test_family"):
        tested = group.filter(pl.col("adjusted_p_value").is_not_null())
        holm = multipletests(tested["adjusted_p_value"].to_numpy(), method="holm")
        bh = multipletests(tested["adjusted_p_value"].to_numpy(), method="fdr_bh")
        np.testing.assert_allclose(tested["p_value_holm"].to_numpy(), holm[1], atol=1e-12)
        np.testing.assert_allclose(tested["p_value_bh"].to_numpy(), bh[1], atol=1e-12)
        assert tested["significant_holm"].to_list() == holm[0].tolist(), family
        assert (tested["test_family_size"] == tested.height).all()


def test_minimum_detectable_difference_follows_from_the_standard_error(
    sample_run: Path,
) -> None:
    table = _unification(sample_run).filter(pl.col("mdd_pp").is_not_null())
    df = table["adjusted_df"].to_numpy()
    expected = (sps.t.ppf(0.975, df) + sps.t.ppf(0.8, df)) * table["adjusted_se_pp"].to_numpy()
    np.testing.assert_allclose(table["mdd_pp"].to_numpy(), expected, rtol=1e-9)


def test_clustered_difference_uses_t_on_the_inspections(sample_release: Path) -> None:
    table = _unification(sample_release).filter(pl.col("diff_clustered_pp").is_not_null())
    assert (
        table["diff_clustered_df"] == table["n_inspections_pre"] + table["n_inspections_post"] - 2
    ).all()
    wider = (table["diff_clustered_ci_high"] - table["diff_clustered_ci_low"]) > (
        table["diff_ci_high"] - table["diff_ci_low"]
    )
    assert wider.mean() > 0.9  # clustering widens almost every interval
