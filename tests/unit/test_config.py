"""Typed settings: read once from reference/settings.csv, typed, validated, and actually used."""

from __future__ import annotations

import pytest
from statsmodels.stats.proportion import proportion_confint

from pipeline import refdata
from pipeline.config import Settings, SettingsError
from pipeline.tables import cells


def test_settings_are_typed_from_the_reference_file() -> None:
    settings = refdata.settings()
    assert isinstance(settings, Settings)
    assert settings.suppression_threshold == 10
    assert settings.round_before_banding is False
    assert settings.confidence_level == 0.95
    assert settings.z == pytest.approx(1.959963984540054, abs=1e-12)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"suppression_threshold": "ten"}, "suppression_threshold"),
        ({"round_before_banding": "yes"}, "round_before_banding"),
        ({"confidence_level": "95"}, "between 0 and 1"),
        ({"suppression_threshold": "0"}, "at least 1"),
    ],
)
def test_bad_settings_are_refused_with_the_name(values: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_mapping(values)


def test_the_confidence_level_reaches_the_intervals() -> None:
    """Old code read 95% from a constant; a 90% setting must give statsmodels' 90% Wilson."""
    import polars as pl

    frame = pl.DataFrame({"n_yes": [3, 40, 0], "n_applicable": [10, 50, 12]})
    ninety = Settings(confidence_level=0.90)
    out = cells.with_wilson(frame, z=ninety.z)
    for row in out.iter_rows(named=True):
        low, high = proportion_confint(
            row["n_yes"], row["n_applicable"], alpha=0.10, method="wilson"
        )
        assert row["ci_low"] == pytest.approx(100 * low, abs=1e-9)
        assert row["ci_high"] == pytest.approx(100 * high, abs=1e-9)
    default = cells.with_wilson(frame)  # from settings.csv: 95%
    assert (default["ci_high"] - default["ci_low"] > out["ci_high"] - out["ci_low"]).all()
