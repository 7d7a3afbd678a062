"""Disclosure control: nothing published may reveal a cell resting on too few cases.

Primary suppression blanks the counts, percentages and intervals of a cell whose denominator is
below the threshold (reference/settings.csv) and sets `suppressed = true`.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from pipeline.analysis.cells import CLUSTER_COLUMNS


def suppress(
    frame: pl.DataFrame,
    threshold: int,
    denominators: Iterable[str] = ("n_applicable",),
    blank: Iterable[str] | None = None,
) -> pl.DataFrame:
    """Blank counts, percentages and intervals of cells with a denominator below `threshold`.

    `blank` defaults to every count, percentage, interval and cluster column present.
    """
    denominators = list(denominators)
    small = pl.any_horizontal(pl.col(d).fill_null(0) < threshold for d in denominators)
    if blank is None:
        blank = [
            c
            for c in frame.columns
            if c.startswith(("n_", "pct", "ci_", "diff_", "adjusted_")) or c in CLUSTER_COLUMNS
        ]
    blank = list(blank)
    return frame.with_columns(
        *[pl.when(small).then(None).otherwise(pl.col(c)).alias(c) for c in blank],
        small.alias("suppressed"),
    )
