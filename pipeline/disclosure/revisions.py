"""Revisions: a new release must not disclose anything through its differences from earlier ones.

Statistics are revised (late returns, corrected exports). Two releases of one series publish
the same cells twice, so the change in a cell between them is itself a published number: four
cases added to an inspection move every cell they fall in by four answers or fewer, and the
change shows those cases' outcomes exactly. The policy (docs/methodology.md, "Revisions"):

* **Carried forward.** A cell whose last state in the series is suppressed (primary,
  complementary or protective) stays suppressed: its newly published value, next to the earlier
  margins, would narrow what was hidden.
* **Small changes held back.** A cell is suppressed when its change against any earlier release
  that published it would fail the primary rule: fewer than `suppression_threshold` applicable
  answers added or removed, or fewer than `min_outcome_count` of them judged sufficient, or not
  sufficient (none included), or a not-applicable count changed by fewer than
  `suppression_threshold` (which cases a question did not apply to says who they are: risk
  level, grade, ...). Such a change is a small group of cases, and publishing it would publish
  them. A cell held back keeps its last published value as the one later releases are compared
  with, so it returns once the accumulated change is large enough.

Both kinds are marked `revision` and protected like primary cells (complementary suppression
covers them, the attack tests them). `changes_disclosed` is the independent check run on the
written release: it recomputes the change of every cell published in both releases.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.config import Settings

COUNTS = ("n_applicable", "n_yes", "n_no", "n_na")


def _parts(table: pl.DataFrame | pl.Schema) -> list[str]:
    """Suffixes of the count groups a row holds ('' for one cell, '_pre'/'_post' for two)."""
    columns = table.columns if isinstance(table, pl.DataFrame) else list(table)
    return [c.removeprefix("n_applicable") for c in columns if c.startswith("n_applicable")]


def _changes(current: pl.DataFrame, previous: pl.DataFrame, keys: tuple[str, ...]) -> pl.DataFrame:
    """Current rows (in order, `_row`) with the earlier release's suppression flag and the
    change in every count (null where the cell is new or was not published)."""
    counted = [f"{c}{p}" for p in _parts(current) for c in COUNTS if f"{c}{p}" in previous.columns]
    before = previous.select(
        *[pl.col(k).cast(pl.String) for k in keys],
        pl.col("suppressed").fill_null(False).alias("_was_suppressed"),
        *[pl.col(c).cast(pl.Int64).alias(f"_before_{c}") for c in counted],
    ).unique(list(keys), keep="first")
    now = current.with_row_index("_row").with_columns(pl.col(k).cast(pl.String) for k in keys)
    joined = now.join(before, on=list(keys), how="left", nulls_equal=True).sort("_row")
    return joined.with_columns(
        (pl.col(c).cast(pl.Int64) - pl.col(f"_before_{c}")).alias(f"_delta_{c}") for c in counted
    )


def _small_change(table: pl.DataFrame, settings: Settings) -> pl.Expr:
    """A change that would fail the primary rule, in any part of the row."""
    small = []
    for part in _parts(table):
        deltas = [pl.col(f"_delta_{c}{part}") for c in COUNTS if f"_delta_{c}{part}" in table]
        if not deltas:
            continue
        changed = pl.any_horizontal(*[d.fill_null(0) != 0 for d in deltas])
        app, *outcomes = deltas[:3]
        not_applicable = deltas[3:]
        too_small = pl.any_horizontal(
            app.abs() < settings.suppression_threshold,
            *[o.abs() < settings.min_outcome_count for o in outcomes],
            *[(n != 0) & (n.abs() < settings.suppression_threshold) for n in not_applicable],
        ).fill_null(False)
        small.append(changed & too_small)
    return pl.any_horizontal(*small) if small else pl.lit(False)


def held_back(
    current: pl.DataFrame,
    earlier: list[pl.DataFrame],
    keys: tuple[str, ...],
    settings: Settings,
) -> np.ndarray:
    """Rows of `current` to suppress because of the series' earlier releases of this table
    (oldest first; an empty list for the series' first release: nothing held back)."""
    held = np.zeros(current.height, dtype=bool)
    if not earlier or current.height == 0:
        return held
    carried = _changes(current, last_state(earlier, keys), keys)
    held |= carried.select(pl.col("_was_suppressed").fill_null(False)).to_series().to_numpy()
    for release in earlier:
        joined = _changes(current, release, keys)
        visible_then = ~pl.col("_was_suppressed").fill_null(True)
        small = joined.select(visible_then & _small_change(joined, settings)).to_series()
        held |= small.to_numpy().astype(bool)
    return held


def last_state(earlier: list[pl.DataFrame], keys: tuple[str, ...]) -> pl.DataFrame:
    """Each cell's last state in the series: its latest row that was not held back for a
    revision (a held-back row says nothing new: the cell stands as last published)."""
    frames = [
        frame.select(
            *[pl.col(k).cast(pl.String) for k in keys], "suppressed", "suppression"
        ).with_columns(pl.lit(i).alias("_release"))
        for i, frame in enumerate(earlier)
    ]
    stacked = pl.concat(frames, how="vertical_relaxed")
    kept = stacked.filter(pl.col("suppression").fill_null("") != "revision")
    return kept.sort("_release").unique(list(keys), keep="last").drop("_release")


def changes_disclosed(
    current: pl.DataFrame,
    previous: pl.DataFrame,
    keys: tuple[str, ...],
    settings: Settings,
) -> pl.DataFrame:
    """Cells published in both releases whose change would fail the primary rule: the
    differencing attack between two releases (should be empty)."""
    joined = _changes(current, previous, keys)
    both = ~pl.col("_was_suppressed").fill_null(True) & ~pl.col("suppressed").fill_null(False)
    return joined.filter(both & _small_change(joined, settings)).select(
        *keys, *[c for c in joined.columns if c.startswith("_delta_")]
    )
