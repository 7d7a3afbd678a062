"""Print the figures docs/methodology.md quotes about small-sample inference, from an analysis run
and its release, so the document is regenerated rather than typed:

    .venv/bin/python scripts/methodology_figures.py [PROCESSED_DIR] [RELEASE_DIR]

Defaults: data/processed and the latest release in data/releases. Paste the output over the block
between the "figures:" markers in docs/methodology.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from pipeline.config import RELEASES_DIR
from pipeline.domain import NATIONAL
from pipeline.release import latest_release


def its_lines(processed: Path) -> list[str]:
    """Rows estimated and withheld, and significant steps under CR2 / Bell-McCaffrey."""
    its = pl.read_parquet(processed / "tables" / "its.parquet")
    estimated = its.filter(pl.col("step_pp_p_value").is_not_null())
    withheld = its.filter(pl.col("note").fill_null("").str.contains("withheld"))
    leverage = withheld.filter(pl.col("note").str.contains("leverage"))
    main = estimated.filter(pl.col("model") == "main")
    significant = main.filter(pl.col("step_pp_p_value") < 0.05)
    regional = significant.filter(pl.col("scope") != NATIONAL)
    national = main.filter(pl.col("scope") == NATIONAL)
    return [
        f"- ITS rows: {its.height}; estimated {estimated.height}; withheld {withheld.height} "
        f"({leverage.height} for leverage, the rest for a level shift or interval beyond "
        "+/-100 points); not estimated for too few inspections: "
        f"{its.height - estimated.height - withheld.height}.",
        f"- Main-model steps with p < 0.05: {regional.height} regional, "
        f"{significant.height - regional.height} of {national.height} England and Wales.",
        f"- Bell-McCaffrey degrees of freedom of the step: England and Wales "
        f"{national['df'].min():.1f} to {national['df'].max():.1f} (157 inspections); regional "
        f"median {estimated.filter(pl.col('scope') != NATIONAL)['df'].median():.1f}.",
    ]


def cell_lines(release: Path) -> list[str]:
    """Levels-only cells and the interval basis among the release's visible kq_trend cells."""
    trend = pl.read_parquet(release / "tables" / "kq_trend.parquet").filter(~pl.col("suppressed"))
    basis = dict(trend.group_by("interval_basis").len().iter_rows())
    return [
        f"- Visible `kq_trend` cells in the release: {trend.height:,}; levels only ([u], 2 "
        f"inspections or fewer): {trend['levels_only'].sum():,}; interval from the cell's own "
        f"inspections (wider): {basis.get('own inspections', 0):,}; from the pooled model: "
        f"{basis.get('pooled model', 0):,}.",
    ]


def weight_lines(processed: Path) -> list[str]:
    """Per scope: how far case mix and the provider weights move the adjusted differences."""
    table = pl.read_parquet(processed / "tables" / "unification.parquet").filter(
        pl.col("adjusted_diff_pp").is_not_null()
    )
    moved = (
        table.group_by("scope")
        .agg(
            (pl.col("adjusted_diff_unweighted_pp") - pl.col("diff_clustered_pp"))
            .abs()
            .max()
            .alias("case_mix"),
            (pl.col("adjusted_diff_pp") - pl.col("adjusted_diff_unweighted_pp"))
            .abs()
            .max()
            .alias("weights"),
            (pl.col("adjusted_diff_pp") - pl.col("adjusted_diff_unweighted_pp"))
            .abs()
            .median()
            .alias("weights_median"),
        )
        .sort("scope")
    )
    lines = [
        "| Area | Case mix moved the difference by at most (points) | Provider weights, at "
        "most | Provider weights, median |",
        "|---|---|---|---|",
    ]
    for scope, case_mix, weights, median in moved.iter_rows():
        lines.append(f"| {scope} | {case_mix:.1f} | {weights:.1f} | {median:.1f} |")
    return lines


def main() -> None:
    processed = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("data/processed")
    release = (
        Path(sys.argv[2]) if len(sys.argv) > 2 else RELEASES_DIR / str(latest_release(RELEASES_DIR))
    )
    print("\n".join([*its_lines(processed), *cell_lines(release), "", *weight_lines(processed)]))


if __name__ == "__main__":
    main()
