"""Reference data integrity: the constants everything else relies on."""

from __future__ import annotations

import csv
import datetime as dt

import polars as pl
import pytest

from pipeline import refdata
from pipeline.config import REFERENCE_DIR
from pipeline.domain import KEY_QUESTIONS, QUESTIONS


def test_twelve_regions_with_unique_slugs() -> None:
    regions = refdata.regions()
    assert regions.height == 12
    assert "Kent, Surrey and Sussex" in regions["region"].to_list()
    assert all(s == s.lower() and " " not in s for s in regions["slug"])
    assert refdata.region_slug("Kent, Surrey and Sussex") == "kent-surrey-and-sussex"
    assert refdata.region_slug("England and Wales") == "england-and-wales"
    with pytest.raises(KeyError):
        refdata.region_slug("Atlantis")


@pytest.mark.parametrize(
    ("alias", "region"),
    [  # the variants DATA_CONTRACT.md names, plus case and punctuation
        ("Yorkshire & Humber", "Yorkshire and the Humber"),
        ("Kent Surrey and Sussex", "Kent, Surrey and Sussex"),
        ("KSS", "Kent, Surrey and Sussex"),
        ("East of England", "East of England"),
        ("Eastern", "East of England"),
        ("  north   EAST ", "North East"),
        ("Kent, Surrey & Sussex", "Kent, Surrey and Sussex"),
    ],
)
def test_region_aliases_resolve(alias: str, region: str) -> None:
    assert refdata.region_aliases()[refdata.normalise_label(alias)] == region


def test_every_canonical_region_is_its_own_alias() -> None:
    aliases = refdata.region_aliases()
    for region in refdata.region_names():
        assert aliases[refdata.normalise_label(region)] == region


def test_pre_unification_units_map_to_regions() -> None:
    units = refdata.pre_unification_units()
    assert units.filter(pl.col("provider") == "CRC").height == 21
    assert units.filter(pl.col("provider") == "NPS").height >= 7
    assert set(units["region"]) <= set(refdata.region_names())
    others = {r for v in units["other_regions"].drop_nulls() for r in v.split(";") if r}
    assert others <= set(refdata.region_names())
    assert not units["mapping_verified"].any(), "the crosswalk is unverified (framework.md 2.4)"


def test_pdus_cover_every_region() -> None:
    pdus = refdata.pdus()
    assert set(pdus["region"]) == set(refdata.region_names())
    counts = dict(pdus.group_by("region").len().iter_rows())
    assert all(5 <= c <= 18 for c in counts.values()), (
        "each region has 5-18 PDUs (framework.md 2.2)"
    )
    assert counts["Greater Manchester"] == 8
    assert counts["South West"] == 9


def test_key_question_catalogue() -> None:
    kq = refdata.key_questions()
    for framework in ("2018", "2021", "2023"):
        asked = refdata.questions_asked(framework)
        assert [k for k in asked if k in KEY_QUESTIONS] == list(KEY_QUESTIONS)
    assert refdata.questions_asked("2018") == list(KEY_QUESTIONS)
    assert set(refdata.questions_asked("2021")) - set(KEY_QUESTIONS) == {"court_work"}
    assert set(refdata.questions_asked("2023")) - set(KEY_QUESTIONS) == {
        "court_work",
        "resettlement",
    }
    assert refdata.questions_asked("dipp2025") == [k for k in KEY_QUESTIONS if k.endswith("safety")]
    # the theme and standard agree with the contract column name (single-question standards
    # have no theme: the question is the standard)
    for row in kq.iter_rows(named=True):
        expected = f"{row['standard']}_{row['theme']}" if row["theme"] else row["standard"]
        assert row["key_question"] == expected
    # a key question has one comparable id in every framework that asks it
    ids = kq.group_by("key_question").agg(pl.col("comparable_id").n_unique())
    assert ids["comparable_id"].max() == 1
    assert (
        kq.filter(pl.col("key_question") == "assessment_safety")["comparable_id"][0]
        == "ASSESS_SAFE"
    )


def test_key_dates() -> None:
    dates = refdata.key_dates()
    assert refdata.unification_date() == dt.date(2021, 6, 26)
    assert dates["inspection_pause"] == dt.date(2020, 3, 23)
    assert dates["dynamic_inspection_start"] == dt.date(2025, 10, 1)


def test_rating_bands_are_ordered_and_flagged_unverified() -> None:
    bands = refdata.rating_bands()
    scores = refdata.rating_scores().sort("rank")
    for framework, group in bands.group_by("framework"):
        ordered = group.join(scores, on="rating").sort("rank")
        assert ordered["rating"].to_list() == scores["rating"].to_list(), framework
        assert ordered["min_pct"].to_list() == [0, 50, 65, 80]
    assert not bands["verified"].any(), "the 80/65/50 bands are unverified (framework.md 5.2)"
    assert bands["check_against"].str.len_chars().min() > 0
    overall = refdata.overall_bands()
    assert set(overall["framework"]) == {"2018"}, "PDU score bands are not known: not configured"


def test_codes_cover_every_coded_contract_column() -> None:
    contract = refdata.contract_columns()
    coded = contract.filter(pl.col("type") == "code")["column"].to_list()
    assert set(coded) <= set(refdata.codes())
    assert set(refdata.required_columns()) >= {"inspection_id", "case_id", "region", "start_date"}


def test_answer_variants_include_contract_spellings() -> None:
    variants = refdata.answer_variants()
    for spelling, answer in [
        ("yes", "yes"),
        ("y", "yes"),
        ("n/a", "na"),
        ("n.a.", "na"),
        ("true", "yes"),
        ("0", "no"),
        ("na", "na"),
    ]:
        assert variants[spelling] == answer
    assert refdata.boolean_variants()["false"] is False


def test_every_reference_table_names_its_source() -> None:
    tables_with_sources = {
        "regions.csv": "source",
        "units_pre_unification.csv": "source",
        "pdus.csv": "source",
        "key_questions.csv": "source",
        "key_dates.csv": "source",
        "frameworks.csv": "source",
        "rating_bands.csv": "check_against",
        "overall_bands.csv": "check_against",
        "rating_scores.csv": "check_against",
        "calibration_targets.csv": "source",
    }
    for name, column in tables_with_sources.items():
        with (REFERENCE_DIR / name).open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert rows, name
        assert all(r[column].strip() for r in rows), f"{name}: a row without {column}"


def test_calibration_targets_and_design_are_consistent() -> None:
    targets = refdata.calibration_targets()
    kqs = targets.filter(pl.col("measure") == "kq")["key_question"]
    assert set(kqs) <= set(QUESTIONS)
    prompts = targets.filter(pl.col("measure") == "prompt")["key_question"]
    assert set(prompts) <= set(refdata.prompts()["prompt"])
    design = refdata.sample_design()
    anchored = set(design["anchored_to"]) - {"assumed"}
    assert anchored <= set(targets["target_id"])
    # the generator has a design value for every question each programme's framework asks
    programme_framework = {
        "crc_nps_2018": "2018",
        "pdu_2021": "2021",
        "pdu_regional_2023": "2023",
        "national_2024": "2023",
        "dipp_2025": "dipp2025",
    }
    for programme, framework in programme_framework.items():
        have = set(design.filter(pl.col("programme") == programme)["measure"])
        assert set(refdata.questions_asked(framework)) <= have, programme
        assert {"da_enquiry", "cs_enquiry"} <= have


@pytest.mark.parametrize(
    "text",
    ["Kent, Surrey & Sussex", "  YORKSHIRE &  humber ", "KSS", "east-of-england", "Wales!", "50+"],
)
def test_label_expression_matches_the_python_rule(text: str) -> None:
    expr = refdata.normalise_label_expr(pl.lit(text))
    assert pl.select(expr).item() == refdata.normalise_label(text)


def test_publication_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Status draft or published, dates as YYYY-MM-DD, a published status needs its date; the
    contact is a named team with an email, never an issue tracker."""
    settings = refdata.publication()
    assert settings.status in ("draft", "published")
    assert "@" in settings.contact_email
    assert "issue tracker" not in settings.contact
    rows = dict(refdata._read("publication.csv").select("name", "value").iter_rows())
    for change, message in (
        ({"status": "final"}, "status is draft or published"),
        ({"status": "published", "publication_date": None}, "needs a publication_date"),
        ({"next_update": "7/12/2026"}, "next_update must be YYYY-MM-DD"),
        ({"contact_email": None}, "empty value"),
    ):
        values = [change.get(n, v) for n, v in rows.items()]
        frame = pl.DataFrame({"name": list(rows), "value": values})
        monkeypatch.setattr(refdata, "_read", lambda name, frame=frame: frame)
        refdata.publication.cache_clear()
        with pytest.raises(refdata.ReferenceDataError, match=message):
            refdata.publication()
    monkeypatch.undo()
    refdata.publication.cache_clear()
