"""Funnel plots and shrunken estimates: which inspections and regions really stand apart?

Each unit's sufficiency is set against England and Wales in the same programme, with control
limits at 95 % and 99.8 % that allow for over-dispersion: units differ by more than chance even
when nothing is wrong, so limits drawn from the binomial alone flag too many. Following
Spiegelhalter (2005, "Funnel plots for comparing institutional performance"), the between-unit
variance tau^2 is estimated from the units' z-scores (winsorised at 10 % each side) by the
DerSimonian-Laird method of moments, and the limits at n are p0 +- z sqrt(p0 (1 - p0) / n + tau^2).
Shrunken (empirical Bayes) estimates pull each unit towards p0 by tau^2 / (tau^2 + its sampling
variance): the more cases, the less the pull.

Only published cells enter: a unit whose cell is suppressed is neither plotted nor used to
estimate tau^2 (an estimate built on it could reveal it), and the target is the published
England and Wales cell.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.domain import NATIONAL
from pipeline.statistics import distributions as dist

LIMITS = {"95": 0.975, "998": 0.999}
FUNNEL_SCHEMA: dict[str, type[pl.DataType]] = {
    "comparable_id": pl.String,
    "programme": pl.String,
    "level": pl.String,
    "unit": pl.String,
    "unit_name": pl.String,
    "region": pl.String,
    "n_yes": pl.Int64,
    "n_applicable": pl.Int64,
    "pct": pl.Float64,
    "target_pct": pl.Float64,
    "overdispersion": pl.Float64,
    "between_unit_variance_pp2": pl.Float64,
    "z_score": pl.Float64,
    "z_adjusted": pl.Float64,
    "lower_95": pl.Float64,
    "upper_95": pl.Float64,
    "lower_998": pl.Float64,
    "upper_998": pl.Float64,
    "position": pl.String,
    "pct_shrunk": pl.Float64,
    "shrinkage_weight": pl.Float64,
}
WINSOR = 0.10


def overdispersion(p: np.ndarray, n: np.ndarray, p0: float) -> tuple[float, float]:
    """(phi, tau^2): the multiplicative over-dispersion of winsorised z-scores and the additive
    between-unit variance it implies (DerSimonian-Laird), 0 when units vary no more than chance."""
    if len(p) < 2 or not 0 < p0 < 1:
        return 1.0, 0.0
    s2 = p0 * (1 - p0) / n
    z = (p - p0) / np.sqrt(s2)
    low, high = np.quantile(z, [WINSOR, 1 - WINSOR])
    z_w = np.clip(z, low, high)
    units = len(z)
    phi = float(np.sum(z_w**2) / units)
    w = 1 / s2
    denominator = w.sum() - (w**2).sum() / w.sum()
    tau2 = max(0.0, (units * phi - (units - 1)) / denominator) if denominator > 0 else 0.0
    return phi, float(tau2)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> list[float | None]:
    """numerator / denominator, missing where the denominator is 0 (a target of 0 or 100 %
    with no between-unit variance: no z-score exists)."""
    return [float(a / b) if b > 0 else None for a, b in zip(numerator, denominator, strict=True)]


def _position(value: float, limits: dict[str, tuple[float, float]]) -> str:
    low998, high998 = limits["998"]
    low95, high95 = limits["95"]
    if value > high998:
        return "above the 99.8% limit"
    if value < low998:
        return "below the 99.8% limit"
    if value > high95:
        return "above the 95% limit"
    if value < low95:
        return "below the 95% limit"
    return "within the limits"


def funnel_rows(units: pl.DataFrame, p0: float) -> pl.DataFrame:
    """Limits, positions and shrunken estimates for visible units (n_yes, n_applicable) against
    the target proportion p0 (0-1)."""
    n = units["n_applicable"].to_numpy().astype(float)
    p = units["n_yes"].to_numpy().astype(float) / n
    phi, tau2 = overdispersion(p, n, p0)
    spread = np.sqrt(p0 * (1 - p0) / n + tau2)
    bounds = {
        name: (p0 - dist.norm_ppf(q) * spread, p0 + dist.norm_ppf(q) * spread)
        for name, q in LIMITS.items()
    }
    s2 = p0 * (1 - p0) / n
    weight = tau2 / (tau2 + s2) if tau2 > 0 else np.zeros_like(n)
    positions = [
        _position(v, {k: (b[0][i], b[1][i]) for k, b in bounds.items()}) for i, v in enumerate(p)
    ]
    return units.with_columns(
        pl.lit(100 * p0).alias("target_pct"),
        pl.lit(phi).alias("overdispersion"),
        pl.lit(tau2 * 1e4).alias("between_unit_variance_pp2"),
        pl.Series("z_score", _ratio(p - p0, np.sqrt(s2)), dtype=pl.Float64),
        pl.Series("z_adjusted", _ratio(p - p0, spread), dtype=pl.Float64),
        *[
            pl.Series(f"{side}_{name}", 100 * np.clip(b[j], 0, 1))
            for name, b in bounds.items()
            for j, side in enumerate(("lower", "upper"))
        ],
        pl.Series("position", positions),
        pl.Series("pct_shrunk", 100 * (p0 + weight * (p - p0))),
        pl.Series("shrinkage_weight", weight),
    )


def funnel_table(
    kq_by_inspection: pl.DataFrame, kq_trend: pl.DataFrame, programmes: list[str]
) -> pl.DataFrame:
    """Inspection-level and region-level funnels per key question and programme, from the
    published (disclosure-controlled) tables only."""
    parts = []
    for (comparable_id, programme), target in _targets(kq_trend, programmes).items():
        inspections = kq_by_inspection.filter(
            pl.col("comparable_id") == comparable_id,
            pl.col("programme").cast(pl.String) == programme,
            ~pl.col("suppressed"),
            pl.col("n_applicable") > 0,
        ).select(
            pl.lit("inspection").alias("level"),
            pl.col("inspection_id").alias("unit"),
            "unit_name",
            pl.col("region").cast(pl.String),
            "n_yes",
            "n_applicable",
        )
        regions = _regional_cells(kq_trend, comparable_id, programme)
        for units in (inspections, regions):
            if units.height >= 2:
                rows = funnel_rows(units, target)
                parts.append(
                    rows.with_columns(
                        pl.lit(comparable_id).alias("comparable_id"),
                        pl.lit(programme).alias("programme"),
                    )
                )
    if not parts:
        return pl.DataFrame(schema=FUNNEL_SCHEMA)
    table = pl.concat(parts, how="diagonal_relaxed").with_columns(
        (100 * pl.col("n_yes") / pl.col("n_applicable")).alias("pct")
    )
    return table.sort("comparable_id", "programme", "level", "unit").select(list(FUNNEL_SCHEMA))


def _targets(kq_trend: pl.DataFrame, programmes: list[str]) -> dict[tuple[str, str], float]:
    """England and Wales sufficiency (0-1) per key question x programme, where published."""
    national = kq_trend.filter(
        pl.col("series") == "core",
        pl.col("scope") == NATIONAL,
        pl.col("period_type") == "programme",
        pl.col("period").is_in(programmes),
        ~pl.col("suppressed"),
        pl.col("n_applicable") > 0,
    )
    return {
        (c, p): k / n
        for c, p, k, n in national.select("comparable_id", "period", "n_yes", "n_applicable").rows()
    }


def _regional_cells(kq_trend: pl.DataFrame, comparable_id: str, programme: str) -> pl.DataFrame:
    return kq_trend.filter(
        pl.col("series") == "core",
        pl.col("comparable_id") == comparable_id,
        pl.col("period_type") == "programme",
        pl.col("period") == programme,
        pl.col("scope") != NATIONAL,
        ~pl.col("suppressed"),
        pl.col("n_applicable") > 0,
    ).select(
        pl.lit("region").alias("level"),
        pl.col("scope").alias("unit"),
        pl.col("scope").alias("unit_name"),
        pl.col("scope").alias("region"),
        "n_yes",
        "n_applicable",
    )
