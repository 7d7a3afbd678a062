"""Where each region stands (bulletins/standing.py), on hand-built trend cells: only published
cells are drawn, a suppressed one is absent (never recomputed), a level only keeps its [u]
flag, and the sentences are computed from the plotted rows."""

from __future__ import annotations

import json

import polars as pl

from pipeline import refdata
from pipeline.bulletins import sections, standing
from pipeline.domain import NATIONAL


def _trend() -> pl.DataFrame:
    regions = refdata.region_names()
    rows = []
    for i, scope in enumerate([*regions, NATIONAL]):
        for programme, pct in (("pdu_2021", 50.0), ("pdu_regional_2023", 20.0 + 2 * i)):
            rows.append(
                {
                    "series": "core",
                    "comparable_id": "IMPL_SAFE",
                    "period_type": "programme",
                    "period": programme,
                    "scope": scope,
                    "pct": pct,
                    "ci_cluster_low": pct - 5,
                    "ci_cluster_high": pct + 5,
                    "levels_only": False,
                    "suppressed": False,
                    "n_inspections": 5,
                    "n_applicable": 200,
                    "synthetic": True,
                }
            )
    trend = pl.DataFrame(rows)
    suppressed = (pl.col("scope") == regions[1]) & (pl.col("period") == "pdu_regional_2023")
    levels = (pl.col("scope") == regions[2]) & (pl.col("period") == "pdu_regional_2023")
    return trend.with_columns(
        pl.when(suppressed).then(None).otherwise(pl.col("pct")).alias("pct"),
        suppressed.alias("suppressed"),
        levels.alias("levels_only"),
        pl.when(levels).then(None).otherwise(pl.col("ci_cluster_low")).alias("ci_cluster_low"),
        pl.when(levels).then(None).otherwise(pl.col("ci_cluster_high")).alias("ci_cluster_high"),
    )


def test_latest_programme_published_cells_only() -> None:
    cells, label = standing.latest_cells(_trend())
    regions = refdata.region_names()
    assert "2023" in label
    assert regions[1] not in set(cells["region"]), "a suppressed cell is absent"
    assert set(cells["region"]) == (set(regions) - {regions[1]}) | {NATIONAL}
    flagged = cells.filter(pl.col("levels_only"))["region"].to_list()
    assert flagged == [regions[2]]


def test_region_among_twelve_highlights_the_region_and_marks_levels_only() -> None:
    regions = refdata.region_names()
    result = standing.region_among_twelve(_trend(), regions[0], synthetic=True)
    assert result.data.height == 11
    assert result.data.filter(pl.col("shown_as") == regions[0]).height == 1
    spec = json.dumps(result.chart.to_dict())
    assert "datum.levels_only" in spec
    assert "[u]" in spec
    assert "#12436D" in spec, "the region in the focus colour"
    # 11 regions with a figure; the first region is the lowest (20%), England and Wales 44%
    assert "11th highest of the 11 regions" in result.finding
    assert "below the England and Wales figure" in result.finding
    assert result.finding in result.alt_text
    levels_only = standing.region_among_twelve(_trend(), regions[2], synthetic=True)
    assert "[u]" in levels_only.finding
    missing = standing.region_among_twelve(_trend(), regions[1], synthetic=True)
    assert "No published figure" in missing.finding


def test_where_regions_stand_counts_regions_clearly_above_and_below() -> None:
    result = standing.where_regions_stand(_trend(), synthetic=True)
    # England and Wales 44%: intervals of +-5 around 20, 22, ... 42 (one suppressed, one [u])
    assert "England and Wales 44%" in result.finding
    assert "0 of 11 regions lie clearly above it and 8 clearly below" in result.finding


def test_the_section_is_declared_once_for_regional_bulletins_only() -> None:
    regional = [s.chart for s in sections.for_area(refdata.region_names()[0])]
    national = [s.chart for s in sections.for_area(NATIONAL)]
    assert "region_among_twelve" in regional
    assert "region_among_twelve" not in national
    assert "kq_trend" in sections.tables_read_for_every_region()


def test_a_programme_that_reaches_few_regions_is_passed_over() -> None:
    """The refreshed regional programme so far reaches one or two regions in a release: placing
    a region among one other says nothing, so the latest programme reaching half is used."""
    regions = refdata.region_names()
    few = (pl.col("period") == "pdu_regional_2023") & pl.col("scope").is_in(regions[1:])
    trend = _trend().with_columns(few.alias("suppressed"))
    cells, label = standing.latest_cells(trend)
    assert "2021" in label
    assert set(cells["region"]) == {*regions, NATIONAL}
