"""The regional bridge (dipp_bridge): each region's core inspections beside its dynamic
inspection. Expected counts are recomputed here from the run's case tables, not by the
table's code."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline import refdata
from pipeline.bulletins import bulletin
from pipeline.domain import NATIONAL

SAFETY = ("assessment_safety", "planning_safety", "implementation_safety", "reviewing_safety")


@pytest.fixture(scope="module")
def bridge(sample_run: Path) -> pl.DataFrame:
    return pl.read_parquet(sample_run / "tables" / "dipp_bridge.parquet")


def _counts(run: Path, inspection_ids: list[str], question: str) -> tuple[int, int]:
    """yes and yes + no among core-question-set cases of the inspections."""
    cases = pl.read_parquet(run / "cases.parquet").filter(
        pl.col("inspection_id").is_in(inspection_ids),
        pl.col("question_set").cast(pl.String) == "core",
    )
    answers = pl.read_parquet(run / "answers.parquet").join(
        cases.select("inspection_id", "case_id"), on=["inspection_id", "case_id"]
    )
    answer = answers.filter(pl.col("key_question").cast(pl.String) == question)["answer"]
    answer = answer.cast(pl.String)
    return int((answer == "yes").sum()), int(answer.is_in(["yes", "no"]).sum())


def test_every_region_has_both_sides_on_the_four_safety_questions(bridge: pl.DataFrame) -> None:
    assert set(bridge["scope"]) == set(refdata.region_names())
    assert bridge.height == 12 * 2 * 4
    assert set(bridge["key_question"]) == set(SAFETY)
    assert not bridge["directly_comparable"].any()
    assert bridge["caveat"].str.contains("Not directly comparable").all()
    assert bridge.filter(pl.col("measurement") == "dipp")["levels_only"].all()


def test_south_west_rows_match_the_case_data(sample_run: Path, bridge: pl.DataFrame) -> None:
    inspections = pl.read_parquet(sample_run / "inspections.parquet").with_columns(
        pl.col("programme", "inspection_type").cast(pl.String)
    )
    south_west = inspections.filter(pl.col("region") == "South West")
    [dipp] = south_west.filter(pl.col("programme") == "dipp_2025").to_dicts()
    # no regional round in the sample: the region's 2023-programme PDU inspections before it
    core = south_west.filter(
        pl.col("programme") == "pdu_regional_2023",
        pl.col("fieldwork_end") < dipp["fieldwork_start"],
    )
    assert core.height >= 2
    rows = bridge.filter(pl.col("scope") == "South West")
    for question in SAFETY:
        for side, ids in (("dipp", [dipp["inspection_id"]]), ("core_round", core["inspection_id"])):
            [row] = rows.filter(
                pl.col("key_question") == question, pl.col("measurement") == side
            ).to_dicts()
            assert (row["n_yes"], row["n_applicable"]) == _counts(sample_run, list(ids), question)
            assert row["n_inspections"] == len(ids)
    gap = (dipp["fieldwork_start"] - core["fieldwork_end"].max()).days / 30.44
    assert rows["months_apart"].unique().to_list() == [round(gap)]
    assert f"{round(gap)} months apart" in rows["caveat"][0]


def test_the_release_suppresses_and_blanks_like_the_other_cell_tables(
    sample_release: Path,
) -> None:
    released = pl.read_parquet(sample_release / "tables" / "dipp_bridge.parquet")
    assert released.height == 12 * 2 * 4
    assert "design_effect_empirical" not in released.columns
    hidden = released.filter(pl.col("suppressed"))
    assert hidden.select(pl.col("n_yes", "pct", "n_cases_answered").is_null().all()).row(0) == (
        True,
        True,
        True,
    )
    shown = released.filter(~pl.col("suppressed"))
    assert (shown["n_applicable"] >= refdata.settings().suppression_threshold).all()


def test_a_strict_threshold_suppresses_the_dynamic_inspection_cells(
    sample_run: Path, tmp_path: Path
) -> None:
    """At a threshold of 60 applicable answers every dynamic-inspection cell under it is
    primary-suppressed and blanked (the audit inside the release found nothing recoverable)."""
    from pipeline.release import make_release

    folder = make_release(sample_run, tmp_path / "releases", threshold=60).folder
    released = pl.read_parquet(folder / "tables" / "dipp_bridge.parquet")
    analysis = pl.read_parquet(sample_run / "tables" / "dipp_bridge.parquet")
    small = analysis.filter(pl.col("n_applicable") < 60).select(
        "scope", "comparable_id", "measurement"
    )
    assert small.height > 0
    hidden = released.join(small, on=["scope", "comparable_id", "measurement"])
    assert hidden["suppression"].to_list() == ["primary"] * small.height
    assert hidden.select(pl.col("n_yes", "pct", "n_cases_answered").is_null().all()).row(0) == (
        True,
        True,
        True,
    )


def test_the_regional_bulletin_shows_the_bridge_with_its_caveat(sample_release: Path) -> None:
    report = bulletin.Bulletin.load(sample_release, "South West")
    assert "dipp_bridge" in [s.chart for s in report.sections()]
    result = report.chart("dipp_bridge")
    assert "Not directly comparable" in result.finding
    for word in ("higher", "lower", "significant", "improved", "declined"):
        assert word not in result.finding.replace("no difference is tested", "")
    national = bulletin.Bulletin.load(sample_release, NATIONAL)
    assert "dipp_bridge" not in [s.chart for s in national.sections()]
