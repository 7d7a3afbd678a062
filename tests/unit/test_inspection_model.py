"""How HMIP inspects and rates, and the published figures the project holds, against the
source documents (copies in pipeline/reference/sources/, Open Government Licence v3.0)."""

from __future__ import annotations

import csv
import datetime as dt

import polars as pl
import pytest

from pipeline import refdata
from pipeline.config import PUBLISHED_DIR, REFERENCE_DIR
from pipeline.domain import KEY_QUESTIONS
from pipeline.stages import published_figures
from pipeline.tables import cohorts, ratings

SOURCES = REFERENCE_DIR / "sources"
NATIONAL_REPORT = (SOURCES / "national_inspection_april_2025.txt").read_text(encoding="utf-8")
PROGRAMME_PAGE = (SOURCES / "probation_inspection_programme_page.txt").read_text(encoding="utf-8")


def _annexe_one() -> dict[str, tuple[str, int]]:
    """Key-question wording -> percentage, parsed from the report's Annexe One tables (lines
    ending in a question mark and a percentage)."""
    annexe = NATIONAL_REPORT[NATIONAL_REPORT.index("Annexe One") :]
    out = {}
    for line in annexe.splitlines():
        line = line.strip()
        if line.endswith("%") and "?" in line:
            question, _, pct = line.rpartition("?")
            out[question.strip() + "?"] = int(pct.strip().rstrip("%"))
    return out


def test_every_2023_key_question_wording_is_verbatim_from_the_national_report() -> None:
    annexe = _annexe_one()
    assert len(annexe) == 13  # 12 case-supervision key questions and resettlement
    catalogue = refdata.key_questions().filter(
        pl.col("framework") == "2023", pl.col("key_question") != "court_work"
    )
    assert catalogue.height == 13
    for row in catalogue.iter_rows(named=True):
        assert row["question_text"] in annexe, row["key_question"]
        assert row["wording_verified"] is True
    # the report prints no court work key question: its wording stays unverified
    court = refdata.key_questions().filter(pl.col("key_question") == "court_work")
    assert not court["wording_verified"].any()


def test_one_wording_per_framework_everywhere_it_is_written() -> None:
    """The contract's column descriptions and the published figures use the 2023 catalogue
    text (three wordings used to coexist)."""
    text = dict(
        refdata.key_questions()
        .filter(pl.col("framework") == "2023")
        .select("key_question", "question_text")
        .iter_rows()
    )
    contract = dict(refdata.contract_columns().select("column", "description").iter_rows())
    for kq in KEY_QUESTIONS:
        assert contract[kq] == text[kq], kq
    published = published_figures.read_published(PUBLISHED_DIR).table
    worded = published.filter(pl.col("key_question").is_in(list(KEY_QUESTIONS)))
    worded = worded.filter(pl.col("wording").is_not_null())
    assert worded.height == 12
    for kq, wording in worded.select("key_question", "wording").iter_rows():
        assert wording == text[kq]


def test_a_wording_is_marked_verified_only_where_a_source_shows_it() -> None:
    for row in refdata.key_questions().iter_rows(named=True):
        if not row["wording_verified"]:
            continue
        notes = (row["notes"] or "").lower()
        assert "unverified" not in notes, row
        assert "inferred" not in notes, row
        if "sources/" in row["source"]:
            assert row["question_text"] in NATIONAL_REPORT, row


def test_the_annexe_one_table_is_loaded_as_published_figures() -> None:
    published = published_figures.read_published(PUBLISHED_DIR).table
    national = published.filter(
        pl.col("source_url").str.contains("national-inspection-april-2025"),
        pl.col("wording").is_not_null(),
    )
    loaded = dict(national.select("wording", "value_pct").iter_rows())
    assert loaded == {k: float(v) for k, v in _annexe_one().items()}


def test_the_national_ratings_and_case_counts_are_loaded() -> None:
    published = published_figures.read_published(PUBLISHED_DIR).table.filter(
        pl.col("source_url").str.contains("document/national-inspection-april-2025")
    )
    rated = dict(
        published.filter(pl.col("rating").is_not_null())
        .select("standard", pl.col("rating").cast(pl.String))
        .iter_rows()
    )
    # the report's Ratings section, read independently of the CSV
    section = NATIONAL_REPORT[NATIONAL_REPORT.index("Ratings (Back to top)") :][:200]
    for label, standard in (
        ("Leadership", "leadership"),
        ("Staffing", "staffing"),
        ("Services", "services"),
        ("IT and infrastructure", "it_and_infrastructure"),
    ):
        assert f"{label}{rated[standard]}" in section
    assert rated["overall"] == "Requires improvement"
    sample = dict(
        published.filter(pl.col("standard") == "case_sample")
        .select("key_question", pl.coalesce("numerator", "n_cases"))
        .iter_rows()
    )
    assert sample["cases_inspected"] == 165
    assert sample["cases_core_standards"] + sample["cases_adjusted_standards"] == 165
    assert "We inspected a total of 165 cases, with 157" in NATIONAL_REPORT


def _all_published_rows() -> list[dict]:
    rows = []
    for path in sorted(PUBLISHED_DIR.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            rows += [{**r, "_file": path.name} for r in csv.DictReader(fh)]
    return rows


def test_every_figure_stated_as_count_and_percentage_agrees_or_is_documented() -> None:
    """Recompute each percentage the sources give with its count; a disagreement must be the
    source's own and say so in the notes (the report's 65 of 133 is 48.9 %, printed 43 %)."""
    checked, documented = 0, []
    for row in _all_published_rows():
        if not (row["numerator"] and row["denominator"] and row["value_pct"]):
            continue
        recomputed = 100 * float(row["numerator"]) / float(row["denominator"])
        checked += 1
        if abs(recomputed - float(row["value_pct"])) > 0.5:
            assert "figures disagree" in row["notes"], row
            documented.append(row["key_question"])
    assert checked >= 1
    assert documented == ["crs_not_referred_or_delivered"]


def test_related_national_figures_are_consistent() -> None:
    """Counts in different sentences of the report that must agree."""
    figures = {
        r["key_question"]: r
        for r in _all_published_rows()
        if r["_file"] == "national_inspection_april_2025.csv"
    }
    # 17 % of the 165 cases were MAPPA cases; '13 out of 28 MAPPA cases'
    mappa = float(figures["cases_subject_to_mappa"]["value_pct"]) * 165 / 100
    assert round(mappa) == int(figures["mappa_liaison_ineffective"]["denominator"])
    # eight adjusted cases, all of them Probation Reset cases
    assert figures["probation_reset_cases_adjusted"]["numerator"] == "8"
    assert figures["cases_adjusted_standards"]["numerator"] == "8"
    # planning safety: 38 % in the table, 39 % in the text; both kept, the difference noted
    assert figures["planning_safety"]["value_pct"] == "38"
    assert "38 per cent" in figures["planning_safety_text"]["notes"]


def test_inspection_model_follows_the_programme_page_and_the_national_report() -> None:
    model = refdata.inspection_model()

    def rated(kind: str, how: str) -> set[str]:
        return set(
            model.filter(pl.col("inspection_type") == kind, pl.col("rated_by") == how)["standard"]
        )

    assert rated("regional", "aggregated_pdu_case_data") == {
        "desistance",
        "public_protection",
        "resettlement",
        "court_work",
    }
    assert rated("regional", "other_case_sample") == {"unpaid_work", "victim_work"}
    assert rated("regional", "inspector_judgement") == {"leadership", "staffing"}
    assert rated("pdu", "inspector_judgement") >= {"leadership", "staffing", "services"}
    assert rated("national", "case_data") == set()
    assert rated("national", "inspector_judgement") == {
        "leadership",
        "staffing",
        "services",
        "it_and_infrastructure",
    }
    assert rated("dipp", "case_data") == set()
    assert "desistance, public protection, resettlement and court work" in PROGRAMME_PAGE
    assert "did not contribute directly to the ratings" in NATIONAL_REPORT
    # every rated type in the programmes table has a model
    assert set(refdata.programmes()["inspection_type"]) <= set(model["inspection_type"])


def test_ratings_skip_inspections_hmip_does_not_rate_by_rule() -> None:
    def kq_rows(inspection: str, kind: str, framework: str) -> list[dict]:
        return [
            {
                "inspection_id": inspection,
                "inspection_type": kind,
                "framework": framework,
                "standard": kq.split("_")[0],
                "theme": kq.split("_")[1],
                "pct": 40.0,
                "n_yes": 12,
                "n_applicable": 30,
                "unit_name": inspection,
                "region": "Wales",
                "programme": "x",
                "era": "post_unification",
                "fieldwork_start": dt.date(2024, 1, 1),
                "synthetic": True,
            }
            for kq in KEY_QUESTIONS
        ]

    frame = pl.DataFrame(
        kq_rows("P", "pdu", "2023")
        + kq_rows("N", "national", "2023")
        + kq_rows("R", "regional", "2023")
        + kq_rows("D", "dipp", "dipp2025")
    )
    rated = ratings.standard_ratings(frame)
    assert set(rated["inspection_id"]) == {"P"}
    assert rated.height == 4
    assert set(rated["rating"]) == {"Inadequate"}


def test_cohort_membership_follows_its_bounds() -> None:
    inspections = pl.DataFrame(
        {
            "inspection_id": ["a", "b", "c", "d"],
            "inspection_type": ["pdu", "pdu", "crc", "pdu"],
            "programme": ["pdu_2021", "pdu_2021", "crc_nps_2018", "pdu_2021"],
            "fieldwork_start": [dt.date(2021, 10, 1)] * 4,
            "publication_date": [
                dt.date(2022, 2, 1),
                dt.date(2023, 9, 1),
                dt.date(2022, 5, 1),
                None,
            ],
        }
    )
    chosen = cohorts.members(inspections, refdata.cohorts())
    bulletin = set(chosen.filter(pl.col("cohort") == "bulletin_2025")["inspection_id"])
    assert bulletin == {"a"}  # first day included; after the window, CRC and unpublished out


def test_cohort_definitions_are_checked_with_file_row_and_column() -> None:
    raw = pl.read_csv(REFERENCE_DIR / "cohorts.csv", infer_schema_length=0)
    broken = raw.with_columns(
        pl.when(pl.col("cohort") == "bulletin_2025")
        .then(pl.lit("2022-13-01"))
        .otherwise(pl.col("published_from"))
        .alias("published_from")
    )
    with pytest.raises(refdata.ReferenceDataError, match=r"mine.csv row 2, column published_from"):
        refdata.parse_cohorts(broken, "mine.csv")
    unknown = raw.with_columns(pl.lit("prison").alias("inspection_types"))
    with pytest.raises(
        refdata.ReferenceDataError, match=r"column inspection_types: unknown prison"
    ):
        refdata.parse_cohorts(unknown, "mine.csv")


def test_all_twelve_annexe_one_figures_are_calibration_targets() -> None:
    targets = refdata.calibration_targets().filter(
        pl.col("inspection_type") == "national",
        pl.col("measure") == "kq",
        pl.col("key_question").is_in(list(KEY_QUESTIONS)),
    )
    annexe = _annexe_one()
    text = dict(
        refdata.key_questions()
        .filter(pl.col("framework") == "2023")
        .select("key_question", "question_text")
        .iter_rows()
    )
    assert targets.height == 12
    for kq, target in targets.select("key_question", "target_pct").iter_rows():
        assert float(target) == annexe[text[kq]], kq
