"""The same-area comparison and the needs table on the sample run, and in the release.

The before/after counts are recounted here from the case table with plain Polars (the last
inspection of each CRC/NPS division, the first of each PDU), independently of the builder."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline import refdata
from pipeline.domain import NATIONAL
from pipeline.release import CASE_TABLES


def _recount(cases: pl.DataFrame) -> dict[str, int]:
    """People with each need whose need was addressed or not, per side, England and Wales."""
    unified = refdata.unification_date()
    insp = cases.select(
        "inspection_id", pl.col("inspection_type").cast(pl.String), "unit_name", "fieldwork_start"
    ).unique()
    last: set[str] = set()
    first: set[str] = set()
    for (_unit,), group in insp.group_by("unit_name"):
        before = group.filter(
            pl.col("inspection_type").is_in(["crc", "nps"]), pl.col("fieldwork_start") < unified
        ).sort("fieldwork_start", "inspection_id")
        after = group.filter(
            pl.col("inspection_type") == "pdu", pl.col("fieldwork_start") >= unified
        ).sort("fieldwork_start", "inspection_id")
        if before.height:
            last.add(before["inspection_id"][-1])
        if after.height:
            first.add(after["inspection_id"][0])
    core = cases.filter(pl.col("question_set") == "core")
    column = "need_accommodation_addressed"
    counts = {}
    for side, ids in (("pre", last), ("post", first)):
        chosen = core.filter(pl.col("inspection_id").is_in(list(ids)))
        counts[side] = chosen.filter(pl.col(column).cast(pl.String).is_in(["yes", "no"])).height
    return counts


def test_same_area_needs_counts_match_an_independent_recount(sample_run: Path) -> None:
    cases = pl.read_parquet(sample_run / "cases.parquet")
    table = pl.read_parquet(sample_run / "tables" / "same_area_needs.parquet")
    row = table.filter(pl.col("scope") == NATIONAL, pl.col("comparable_id") == "NEED_ACCOMMODATION")
    expected = _recount(cases)  # every region is matched in the sample (checked below)
    assert row["n_applicable_pre"].item() == expected["pre"]
    assert row["n_applicable_post"].item() == expected["post"]


def test_every_region_is_matched_in_the_sample(sample_run: Path) -> None:
    matching = pl.read_parquet(sample_run / "tables" / "same_area_matching.parquet")
    assert matching.filter(~pl.col("matched")).height == 0
    assert matching.height == 13


def test_sample_meets_every_kind_of_need_less_often_after_unification(sample_run: Path) -> None:
    """Seed 004 (the 2022-23 annual report): the unified service was 'less successful at
    meeting every kind of need'. The synthetic design follows it; the comparison must show it."""
    table = pl.read_parquet(sample_run / "tables" / "same_area_needs.parquet")
    national = table.filter(pl.col("scope") == NATIONAL)
    assert national.height == refdata.needs().height
    assert (national["adjusted_diff_pp"] < 0).all()
    assert national["significant_holm"].all()
    assert (national["n_inspections_pre"] >= 20).all()


def test_needs_table_agrees_with_the_same_area_table(sample_run: Path) -> None:
    """The same answers, counted by two tables: the `needs` table's same-area periods hold the
    comparison's before and after counts."""
    needs = pl.read_parquet(sample_run / "tables" / "needs.parquet").filter(
        pl.col("scope") == NATIONAL, pl.col("period_type") == "same_area"
    )
    compared = pl.read_parquet(sample_run / "tables" / "same_area_needs.parquet").filter(
        pl.col("scope") == NATIONAL
    )
    for row in compared.iter_rows(named=True):
        area = row["comparable_id"].removeprefix("NEED_").lower()
        cells = needs.filter(pl.col("measure") == f"{area}|met")
        before = cells.filter(pl.col("period") == "last_crc_nps")
        after = cells.filter(pl.col("period") == "first_unified")
        assert before["n_yes"].item() == row["n_yes_pre"]
        assert after["n_applicable"].item() == row["n_applicable_post"]


def test_release_carries_the_same_area_tables(sample_release: Path) -> None:
    for name in ("same_area", "same_area_needs", "needs", "same_area_matching"):
        table = pl.read_parquet(sample_release / "tables" / f"{name}.parquet")
        assert table.height > 0, name
    headline = pl.read_parquet(sample_release / "tables" / "same_area_needs.parquet")
    assert not headline.filter(pl.col("scope") == NATIONAL)["suppressed"].any()


def test_a_table_whose_cells_are_not_linked_is_refused(
    sample_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Take away the declaration that `same_area_needs` is counted from the `needs` answers:
    its rows belong to no cell system, and disclosure control refuses instead of releasing
    them unprotected."""
    from pipeline.disclosure import linked_cells
    from pipeline.disclosure import policy as disclosure
    from pipeline.disclosure.suppression import DisclosureBreach
    from pipeline.tables import build

    read = {n: pl.read_parquet(sample_run / f"{n}.parquet") for n in CASE_TABLES}
    data = build.CaseData.of(
        read["cases"], read["answers"], read["inspections"], None,
        read["prompt_answers"], read["rationales"],
    )  # fmt: skip
    tables = build.cell_tables(data, refdata.settings())
    unmarked = {
        n: tables[n].with_columns(
            pl.lit(False).alias("suppressed"), pl.lit(None, pl.String).alias("suppression")
        )
        for n in disclosure.PROTECTED_TABLES
    }
    pattern = disclosure.Pattern.from_published(unmarked)
    groupings = disclosure.Groupings.of(data.inspections, data.cohorts, data.context)
    systems = disclosure._systems(tables, data.context, data.frames, pattern, groupings)
    disclosure.require_covered(tables, systems)  # as declared: every row is linked
    monkeypatch.setattr(linked_cells, "MEASURE_COMPARISONS", {})
    systems = disclosure._systems(tables, data.context, data.frames, pattern, groupings)
    with pytest.raises(DisclosureBreach, match="same_area_needs"):
        disclosure.require_covered(tables, systems)
