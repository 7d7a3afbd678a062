"""Published figures: precision kept, ratings normalised, bad rows quarantined."""

from __future__ import annotations

from pathlib import Path

import polars as pl


def test_every_rating_column_shares_one_scale_worst_first(
    sample_run: Path, sample_release: Path
) -> None:
    """The rating enum was declared twice in opposite orders, so ORDER BY rating sorted the
    published and the case-based tables in opposite directions."""
    import duckdb

    from pipeline.domain import RATING

    expected = ["Inadequate", "Requires improvement", "Good", "Outstanding"]
    for path in (sample_run / "published.parquet", sample_release / "tables" / "ratings.parquet"):
        assert pl.read_parquet_schema(path)["rating"] == RATING, path.name
    con = duckdb.connect(str(sample_run / "probation.duckdb"), read_only=True)
    for table in ("published", "ratings", "published_ratings"):
        rows = con.sql(
            f"SELECT DISTINCT rating FROM {table} WHERE rating IS NOT NULL ORDER BY rating"
        ).fetchall()
        order = [r[0] for r in rows]
        assert order == [r for r in expected if r in order], table
    con.close()
