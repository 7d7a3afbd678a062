"""Funnel limits with over-dispersion, and shrunken estimates."""

from __future__ import annotations

from pathlib import Path

import polars as pl


def test_the_funnel_table_uses_published_cells_only(sample_release: Path) -> None:
    table = pl.read_parquet(sample_release / "tables" / "funnel.parquet")
    cells = pl.read_parquet(sample_release / "tables" / "kq_by_inspection.parquet")
    joined = table.filter(pl.col("level") == "inspection").join(
        cells, left_on=["unit", "comparable_id"], right_on=["inspection_id", "comparable_id"]
    )
    assert joined.height
    assert not joined["suppressed"].any()
    assert (joined["n_yes"] == joined["n_yes_right"]).all()
