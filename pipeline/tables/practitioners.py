"""Sufficiency by the practitioner's grade, caseload and experience, allowing for case mix.

HMIP's research on caseloads and workloads relates the quality of casework to who holds the case
and how many cases they hold. Raw differences between grades mix the practitioner with the cases
they are given (trainees hold lower-risk cases, for example), so each level is compared with a
reference level (probation officer; under 40 cases; over 5 years in post) in a logistic model of
the theme's key questions, adjusted for risk of serious harm, case type, gender, age band, the key
question and the programme, with standard errors clustered by inspection and Student's t on
(inspections - 1) degrees of freedom. The estimate is the average marginal effect in percentage
points; p-values are adjusted by Holm's method within each characteristic and theme.

Only model estimates are published (no counts): a row is withheld unless both the level and the
reference hold at least `min_outcome_count` sufficient and insufficient answers and
`min_inspections_per_era` inspections, so no estimate rests on a handful of cases.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline import refdata
from pipeline.config import Settings
from pipeline.domain import CASE_MIX, PRACTITIONER, THEMES
from pipeline.statistics import multiplicity, stats

REFERENCE = {
    "practitioner_grade": "po",
    "caseload_band": "under_40",
    "experience_band": "over_5_years",
}
"""The level every other level is compared with (the most experienced / least loaded)."""
CONTROLS = (*CASE_MIX, "key_question", "programme")
SCHEMA = {
    "characteristic": pl.String,
    "level": pl.String,
    "reference_level": pl.String,
    "theme": pl.String,
    "n_inspections": pl.Int64,
    "adjusted_diff_pp": pl.Float64,
    "adjusted_ci_low": pl.Float64,
    "adjusted_ci_high": pl.Float64,
    "adjusted_p_value": pl.Float64,
    "adjusted_odds_ratio": pl.Float64,
    "p_value_holm": pl.Float64,
    "significant_holm": pl.Boolean,
    "model_converged": pl.Boolean,
    "note": pl.String,
    "synthetic": pl.Boolean,
}


def practitioner_effects(context: pl.LazyFrame, settings: Settings | None = None) -> pl.DataFrame:
    """One row per characteristic x level (other than the reference) x theme."""
    settings = settings or refdata.settings()
    rows = []
    counts = _counts(context)
    for characteristic in PRACTITIONER:
        patterns = _patterns(counts, characteristic)
        levels = refdata.codes()[characteristic]
        for theme in THEMES:
            family = [
                _effect(patterns, characteristic, level, theme, settings)
                for level in levels
                if level not in (REFERENCE[characteristic], "unknown")
            ]
            rows += _with_holm(family, settings)
    synthetic = bool(context.select(pl.col("synthetic").all()).collect().item())
    return pl.DataFrame(rows, schema=SCHEMA).with_columns(pl.lit(synthetic).alias("synthetic"))


def _counts(context: pl.LazyFrame) -> pl.LazyFrame:
    """Applicable answers of core inspections counted by inspection, theme, controls and all
    three characteristics: counted once from millions of answers, then re-summed per
    characteristic."""
    keys = ["inspection_id", "theme", *CONTROLS, *PRACTITIONER]
    return (
        context.filter(
            pl.col("series") == "core",
            pl.col("theme").is_not_null(),
            pl.col("answer").cast(pl.String).is_in(["yes", "no"]),
        )
        .group_by([pl.col(c).cast(pl.String) for c in keys])
        .agg(
            (pl.col("answer").cast(pl.String) == "yes").sum().alias("k"),
            pl.len().alias("n"),
        )
        .collect()
        .lazy()
    )


def _patterns(counts: pl.LazyFrame, characteristic: str) -> pl.DataFrame:
    """Answers collapsed to (inspection, theme, controls, characteristic) patterns: k
    sufficient of n (the same estimates as a case-level fit)."""
    keys = ["inspection_id", "theme", *CONTROLS, characteristic]
    return (
        counts.group_by(keys)
        .agg(
            pl.col("k").sum().cast(pl.Float64),
            pl.col("n").sum().cast(pl.Float64),
        )
        .sort(keys, nulls_last=True)
        .collect()
    )


def _effect(
    patterns: pl.DataFrame, characteristic: str, level: str, theme: str, settings: Settings
) -> dict[str, object]:
    """The adjusted difference between `level` and the reference for one theme."""
    reference = REFERENCE[characteristic]
    cell = patterns.filter(
        pl.col("theme") == theme, pl.col(characteristic).is_in([level, reference])
    )
    row: dict[str, object] = {
        "characteristic": characteristic,
        "level": level,
        "reference_level": reference,
        "theme": theme,
        "n_inspections": cell["inspection_id"].n_unique(),
    }
    note = _too_thin(cell, characteristic, level, reference, settings)
    if note:
        return row | {"note": note}
    group = (cell[characteristic] == level).cast(pl.Float64).to_numpy()
    result = stats.adjusted_difference(
        cell["k"].to_numpy(),
        group,
        _dummies(cell),
        cell["inspection_id"].to_numpy(),
        trials=cell["n"].to_numpy(),
        level=settings.confidence_level,
    )
    return row | {
        "adjusted_diff_pp": 100 * result.difference,
        "adjusted_ci_low": 100 * result.low,
        "adjusted_ci_high": 100 * result.high,
        "adjusted_p_value": result.p_value,
        "adjusted_odds_ratio": result.odds_ratio,
        "model_converged": result.converged,
    }


def _too_thin(
    cell: pl.DataFrame, characteristic: str, level: str, reference: str, settings: Settings
) -> str | None:
    """Why the comparison is withheld (too few answers or inspections), or None."""
    for name in (level, reference):
        side = cell.filter(pl.col(characteristic) == name)
        yes, total = float(side["k"].sum()), float(side["n"].sum())
        if min(yes, total - yes) < settings.min_outcome_count:
            return f"withheld: fewer than {settings.min_outcome_count} answers of each outcome"
        if side["inspection_id"].n_unique() < settings.min_inspections_per_era:
            return f"withheld: fewer than {settings.min_inspections_per_era} inspections"
    return None


def _dummies(cell: pl.DataFrame) -> np.ndarray:
    """0/1 columns for every control category except the most common (ties by name)."""
    columns = []
    for variable in CONTROLS:
        counts = (
            cell.group_by(pl.col(variable).fill_null("missing"))
            .agg(pl.col("n").sum())
            .sort(["n", variable], descending=[True, False])
        )
        for category in counts[variable].to_list()[1:]:
            columns.append((cell[variable].fill_null("missing") == category).to_numpy())
    if not columns:
        return np.zeros((cell.height, 0))
    return np.column_stack(columns).astype(float)


def _with_holm(family: list[dict[str, object]], settings: Settings) -> list[dict[str, object]]:
    """Holm-adjusted p-values and significance within one characteristic x theme."""
    p = np.array([r.get("adjusted_p_value", np.nan) or np.nan for r in family], dtype=float)
    adjusted = multiplicity.holm(p)
    alpha = 1 - settings.confidence_level
    for row, value in zip(family, adjusted, strict=True):
        if not np.isnan(value):
            row["p_value_holm"] = float(value)
            row["significant_holm"] = bool(value < alpha)
    return family
