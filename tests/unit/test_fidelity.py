"""Issue 26: the reference data checked line by line against the sources (seeds 000-004 and
HMIP's pages). Expected figures and wording are typed from the sources, never computed by the
code under test."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl

from pipeline import refdata
from pipeline.config import REFERENCE_DIR

PUBLISHED = Path(__file__).parents[2] / "data" / "raw" / "published"


def _published(name: str) -> dict[str, dict[str, str]]:
    with (PUBLISHED / name).open(encoding="utf-8", newline="") as handle:
        return {r["key_question"]: r for r in csv.DictReader(handle)}


def _target(target_id: str) -> dict[str, object]:
    targets = refdata.calibration_targets().filter(pl.col("target_id") == target_id)
    assert targets.height == 1, target_id
    return targets.row(0, named=True)


def test_item_1_rated_standards_per_inspection_type() -> None:
    """Seed 001: regions rate leadership and staffing plus desistance, public protection,
    resettlement, unpaid work, court work, victim work (8); seed 003: four national standards."""
    rated = {(f, t): n for f, t, n in refdata.rated_standards().iter_rows()}
    assert rated[("2023", "regional")] == 8
    assert rated[("2023", "national")] == 4
    assert rated[("2023", "pdu")] == 7
    model = refdata.inspection_model().filter(
        ~pl.col("rated_by").is_in(refdata.NOT_RATED_AT_THIS_LEVEL)
    )
    regional = set(model.filter(pl.col("inspection_type") == "regional")["standard"])
    assert regional == {
        "leadership", "staffing", "desistance", "public_protection", "resettlement",
        "unpaid_work", "court_work", "victim_work",
    }  # fmt: skip
    national = set(model.filter(pl.col("inspection_type") == "national")["standard"])
    assert national == {"leadership", "staffing", "services", "it_and_infrastructure"}


def test_item_1_overall_rating_asks_a_region_for_eight_standards() -> None:
    from pipeline.tables import ratings

    standards = pl.DataFrame(
        {
            "inspection_id": ["R"] * 7,
            "framework": ["2023"] * 7,
            "inspection_type": ["regional"] * 7,
            "rating": ["Good"] * 7,
        }
    )
    row = ratings.overall_ratings(standards).row(0, named=True)
    assert row["standards_required"] == 8


def test_item_2_dynamic_c1_c2_wording_is_verbatim() -> None:
    dipp = refdata.key_questions().filter(pl.col("framework") == "dipp2025")
    text = dict(zip(dipp["kq_code"], dipp["question_text"], strict=True))
    assert text["C1"] == "Does assessment focus sufficiently on keeping other people safe?"
    assert text["C2"] == "Does planning focus sufficiently on keeping other people safe?"
    source = (REFERENCE_DIR / "hmip_questions_source.csv").read_text(encoding="utf-8")
    assert "give enough attention to keeping other people safe? Prompts: (a)" not in source
    assert source.count("Does assessment focus sufficiently on keeping other people safe?") >= 2


def test_item_3_adjusted_set_reasons_assessors_and_no_rating() -> None:
    source = (REFERENCE_DIR / "hmip_questions_source.csv").read_text(encoding="utf-8")
    adjusted = next(line for line in source.splitlines() if ",DIPP_ADJ," in line)
    assert "post-sentence supervision (PSS) only from the date of release" in adjusted
    assert "licence period of eight weeks or less" in adjusted
    assert "Probation Reset or Probation Impact" in adjusted
    assert "20 October 2025" in adjusted
    assert "local assessors" in adjusted
    dipp = refdata.inspection_model().filter(pl.col("inspection_type") == "dipp")
    assert set(dipp["rated_by"]) == {"not_rated"}
    assert dipp["rule_verified"].all()
    assert all("rate this delivery" in s for s in dipp["source"])


def test_item_4_domestic_abuse_enquiries_less_than_half() -> None:
    bound = _target("annual_2223_da_enquiry_below_half")
    assert (bound["comparison"], bound["target_pct"]) == ("below", 50)
    assert "less than half" in str(bound["source"])
    anchor = _target("annual_2223_da_enquiry")
    assert str(anchor["source"]).startswith("Assumed")
    assert "49 % (supervision)" in str(anchor["source"])  # named, and said not to be used


def test_item_6_national_counts_are_targets() -> None:
    """Seed 003: 31 of 118 reviews; 65 of 133 not referred (68 referred); 13 of 28 MAPPA cases
    ineffective (15 effective); 22 of 49 resettlement cases; two-thirds of court reports."""
    expected = {
        "national_prompt_review_addresses_offending_changes": ("31", "118"),
        "national_prompt_services_referred": ("68", "133"),
        "national_prompt_multi_agency_coordination": ("15", "28"),
        "national_prompt_resettlement_risk_identified": ("22", "49"),
        "national_prompt_contingency_plan_sufficient": ("67", "162"),
    }
    for target_id, counts in expected.items():
        target = _target(target_id)
        assert (target["target_numerator"], target["target_denominator"]) == counts
    cs = _target("national_court_cs_indications")
    assert cs["target_pct"] == 67
    assert "two-thirds" in str(cs["source"])
    assert _target("national_court_da_indications")["target_pct"] == 62


def test_item_7_annexe_one_bases() -> None:
    rows = _published("national_inspection_april_2025.csv")
    assert rows["resettlement"]["n_cases"] == ""
    assert "custody" in rows["resettlement"]["notes"]
    assert rows["court_work"]["n_cases"] == ""
    assert "court report" in rows["court_work"]["notes"]
    assert rows["offending_factors_identified_core"]["n_cases"] == "157"
    assert rows["risk_of_harm_identified_pre_release"]["denominator"] == "49"
    assert rows["reviewing_safety"]["n_cases"] == "165"


def test_item_8_bulletin_cohort_1748() -> None:
    target = _target("bulletin_2025_impl_safety")
    assert target["target_denominator"] == "1748"
    assert target["question_set"] == "core"
    assert "1,748 cases" in str(target["source"])


def test_item_9_chief_inspector_statements() -> None:
    rows = _published("chief_inspector_statements_2025.csv")
    assert rows["cases_judged_insufficient"]["value_pct"] == "67"
    assert (
        "Two-thirds of the cases we have inspected so far"
        in (rows["cases_judged_insufficient"]["notes"])
    )
    bound = rows["some_areas_cases_meeting_standards_below"]
    assert bound["value_pct"] == ""
    assert "fewer than one in five cases we inspected met our standards" in bound["notes"]
    assert _target("chief_2025_safety_insufficient")["target_pct"] == 33
    some = _target("chief_2025_some_area_below_fifth")
    assert (some["comparison"], some["target_pct"]) == ("some_below", 20)


def test_item_10_adjusted_planning_engagement_none_of_eight() -> None:
    rows = _published("national_inspection_april_2025.csv")
    row = rows["adjusted_planning_engagement_sufficient"]
    assert (row["numerator"], row["denominator"], row["value_pct"]) == ("0", "8", "0")
    assert "no cases inspected where this work was assessed as sufficient" in row["notes"]
    assert rows["reset_informed_of_requirements"]["numerator"] == "3"
    assert rows["adjusted_offending_factors_identified"]["numerator"] == "6"


def test_notes_assumptions_say_so() -> None:
    text = (REFERENCE_DIR / "cohorts.csv").read_text(encoding="utf-8")
    annual = next(line for line in text.splitlines() if line.startswith("annual_report_2023"))
    assert "assumed" in annual
    settings = (REFERENCE_DIR / "settings.csv").read_text(encoding="utf-8")
    floor = next(line for line in settings.splitlines() if line.startswith("min_inspections"))
    assert "Project decision" in floor
    assert "assumed" in floor
    assert "HMIP review" not in floor
    themes = refdata.rationale_themes()
    curiosity = themes.filter(pl.col("theme") == "professional_curiosity")
    assert curiosity.height == 1
    assert "002" in curiosity["source"][0]
    assert "003" in curiosity["source"][0]
