"""Coverage of the published cell interval when inspections are not alike (issue 25).

The earlier simulation drew every inspection from the pooled model, so it could not see a cell
whose inspections differ more than average. Here each simulated cell mixes CRC-like and NPS-like
inspections (a provider effect), sits in a region with its own level, and its inspections vary
more than the pool the ICC is estimated from. For each cell the pipeline's own functions give
the pooled interval and the published one (the wider of pooled and own-inspections,
`tables.cells.with_cluster_interval`); coverage is of the cell's true mean over inspections of
its kind. Run:

    .venv/bin/python scripts/coverage_simulation.py [TRIALS]

It prints a Markdown table (docs/methodology.md quotes it). Seeded: the same table every run.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.statistics import clustering
from pipeline.tables.cells import cluster_columns, with_cluster_interval


@dataclass(frozen=True)
class Scenario:
    """How the cell's inspections differ: logit-scale SDs and the CRC/NPS provider gap."""

    name: str
    inspection_sd: float
    provider_gap: float
    region_sd: float


SCENARIOS = (
    Scenario("as pooled (homogeneous)", 0.35, 0.0, 0.0),
    Scenario("CRC vs NPS gap, region effects", 0.35, 0.8, 0.3),
    Scenario("gap, region effects, inspections twice as varied", 0.7, 0.8, 0.3),
)
SIZES = ((3, 5), (6, 10))
POOL_SD, POOL_INSPECTIONS, BASE = 0.35, 60, 0.35


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _cells(rng: np.random.Generator, scenario: Scenario, trials: int, sizes: tuple[int, int]):
    """Counts per simulated inspection (trial, inspection, k, m) and each trial's true mean."""
    rows, truths = [], []
    for trial in range(trials):
        region = rng.normal(0, scenario.region_sd) if scenario.region_sd else 0.0
        g = int(rng.integers(sizes[0], sizes[1] + 1))
        provider = rng.integers(0, 2, g) * scenario.provider_gap - scenario.provider_gap / 2
        logit = _logit(BASE) + region + provider + rng.normal(0, scenario.inspection_sd, g)
        m = rng.integers(20, 61, g)
        k = rng.binomial(m, 1 / (1 + np.exp(-logit)))
        rows += [(trial, i, int(k[i]), int(m[i])) for i in range(g)]
        draws = _logit(BASE) + region + rng.normal(0, scenario.inspection_sd, 20_000)
        gap = np.where(rng.integers(0, 2, 20_000) == 1, 1, -1) * scenario.provider_gap / 2
        truths.append(float(np.mean(1 / (1 + np.exp(-(draws + gap))))))
    return rows, np.array(truths)


def coverage(
    scenario: Scenario, sizes: tuple[int, int], trials: int, seed: int
) -> dict[str, float]:
    """Share of trials whose pooled and published intervals cover the true mean."""
    rng = np.random.default_rng(seed)
    pool_logit = _logit(BASE) + rng.normal(0, POOL_SD, POOL_INSPECTIONS)
    pool_m = rng.integers(20, 61, POOL_INSPECTIONS)
    pool_k = rng.binomial(pool_m, 1 / (1 + np.exp(-pool_logit)))
    icc = clustering.icc_anova(pool_k, pool_m)
    rows, truth = _cells(rng, scenario, trials, sizes)
    counts = pl.DataFrame(rows, schema=["trial", "inspection_id", "n_yes", "m"], orient="row")
    counts = counts.with_columns((pl.col("m") - pl.col("n_yes")).alias("n_no"), family=pl.lit(1))
    icc_frame = pl.DataFrame({"family": [1], "icc": [icc.rho], "icc_df": [icc.df]})
    cells = cluster_columns(counts.lazy(), ["trial", "family"], icc_frame, ["family"]).collect()
    totals = counts.group_by("trial").agg(pl.col("n_yes").sum(), pl.col("m").sum().alias("n"))
    cells = cells.join(totals, on="trial").sort("trial").rename({"n": "n_applicable"})
    cells = cells.with_columns(ci_low=pl.lit(None, pl.Float64), ci_high=pl.lit(None, pl.Float64))
    published = with_cluster_interval(cells)
    pooled = clustering.korn_graubard_interval(
        (cells["n_yes"] / cells["n_applicable"]).to_numpy(),
        cells["n_effective"].to_numpy(),
        cells["icc_df"].to_numpy(),
    )
    low, high = (
        published["ci_cluster_low"].to_numpy() / 100,
        published["ci_cluster_high"].to_numpy() / 100,
    )
    return {
        "pooled": float(np.mean((pooled[0] <= truth) & (truth <= pooled[1]))),
        "published": float(np.mean((low <= truth) & (truth <= high))),
        "own_share": float(np.mean(published["interval_basis"].to_numpy() == "own inspections")),
    }


def main() -> None:
    trials = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    print(
        "| Inspections differ | Inspections in the cell | Nominal | Pooled interval | "
        "Published (wider) interval | Published from own inspections |"
    )
    print("|---|---|---|---|---|---|")
    for s, scenario in enumerate(SCENARIOS):
        for z, sizes in enumerate(SIZES):
            result = coverage(scenario, sizes, trials, seed=100 + 10 * s + z)
            print(
                f"| {scenario.name} | {sizes[0]}-{sizes[1]} | 95% | {result['pooled']:.1%} | "
                f"{result['published']:.1%} | {result['own_share']:.0%} |"
            )


if __name__ == "__main__":
    main()
