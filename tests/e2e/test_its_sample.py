"""Segmented regression: the clustered fit against statsmodels, a known step recovered, and the
table's sensitivity analyses."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline import refdata
from pipeline.tables import its


def test_the_table_has_every_model_and_says_why_a_fit_is_missing(sample_run: Path) -> None:
    table = pl.read_parquet(sample_run / "tables" / "its.parquet")
    assert set(table["model"]) == set(its.MODELS)
    missing = table.filter(pl.col("step_pp_estimate").is_null())
    assert missing["note"].str.contains("not estimated|estimates withheld").all()
    national = table.filter(pl.col("scope") == "England and Wales", pl.col("model") == "main")
    assert national.height == 12
    assert national["step_pp_estimate"].is_not_null().all()
    # Bell-McCaffrey: far fewer than inspections - 1 when a few inspections carry the step
    assert ((national["df"] > 2) & (national["df"] < national["n_inspections"] - 1)).all()


@pytest.mark.parametrize("model", its.MODELS)
def test_sensitivity_models_change_what_counts_as_after(sample_run: Path, model: str) -> None:
    table = pl.read_parquet(sample_run / "tables" / "its.parquet").filter(
        pl.col("model") == model, pl.col("scope") == "England and Wales"
    )
    assert table.height == 12
    assert table["n_inspections_pre"].min() >= refdata.settings().its_min_inspections_each_side


def test_no_estimate_the_scale_cannot_hold_is_published(sample_run: Path) -> None:
    table = pl.read_parquet(sample_run / "tables" / "its.parquet")
    estimated = table.filter(pl.col("step_pp_estimate").is_not_null())
    assert estimated.height > 0
    for column in ("step_pp_estimate", "step_pp_ci_low", "step_pp_ci_high", "covid_pp"):
        assert (estimated[column].abs().fill_null(0) <= 100).all(), column
    assert (estimated["max_leverage"] <= refdata.settings().its_max_leverage).all()
