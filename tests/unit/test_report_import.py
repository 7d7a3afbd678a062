"""`probation import-reports`: published report pages into the published-figures dataset.

Expected values are typed from the April 2025 national inspection report (seed text, as
published), not computed by the code under test."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.stages import report_import
from pipeline.stages.published_figures import read_published

REPORTS = Path(__file__).parents[1] / "fixtures" / "reports"
NATIONAL_HTML = REPORTS / "national_inspection_april_2025.html"
NATIONAL_TEXT = REPORTS / "national_inspection_april_2025.txt"

ANNEXE_ONE = {  # Annexe One of the April 2025 national inspection, percentage 'Yes'
    "resettlement": "42",
    "assessment_engagement": "52",
    "assessment_desistance": "69",
    "assessment_safety": "25",
    "planning_engagement": "44",
    "planning_desistance": "64",
    "planning_safety": "38",
    "implementation_engagement": "47",
    "implementation_desistance": "32",
    "implementation_safety": "18",
    "reviewing_engagement": "48",
    "reviewing_desistance": "36",
    "reviewing_safety": "18",
}
RATINGS = {
    "leadership": "Requires improvement",
    "staffing": "Requires improvement",
    "services": "Inadequate",
    "it_and_infrastructure": "Requires improvement",
    "overall": "Requires improvement",
}


def _by(rows: list[dict[str, str]], column: str) -> dict[str, dict[str, str]]:
    return {r[column]: r for r in rows if r[column]}


@pytest.mark.parametrize("page", [NATIONAL_HTML, NATIONAL_TEXT], ids=["html", "text"])
def test_national_report_reproduces_annexe_one_ratings_and_cases(page: Path) -> None:
    report = report_import.read_report(page)
    assert (report.inspection_type, report.region) == ("national", "England and Wales")
    assert report.unit_name == "National Inspection – April 2025"
    assert report.publication_date == "2025-04-29"
    kq = {k: r["value_pct"] for k, r in _by(report.rows, "key_question").items() if r["wording"]}
    assert kq == ANNEXE_ONE
    assert kq["resettlement"] == "42"
    assert kq["reviewing_desistance"] == "36"
    ratings = {r["standard"]: r["rating"] for r in report.rows if r["rating"]}
    assert ratings == RATINGS
    cases = _by(report.rows, "key_question")
    assert cases["cases_inspected"]["n_cases"] == "165"
    assert (
        cases["cases_core_standards"]["numerator"],
        cases["cases_core_standards"]["denominator"],
    ) == ("157", "165")
    assert cases["cases_adjusted_standards"]["numerator"] == "8"
    wording = cases["assessment_safety"]["wording"]
    assert wording == "Does assessment focus sufficiently on keeping other people safe?"


def test_every_row_names_its_source_and_place() -> None:
    report = report_import.read_report(NATIONAL_HTML)
    for row in report.rows:
        assert row["source_url"].startswith("https://hmiprobation.justiceinspectorates.gov.uk/")
        assert row["notes"].startswith("import-reports: national_inspection_april_2025.html, ")
        assert "line " in row["notes"]
    kq = _by(report.rows, "key_question")["reviewing_safety"]
    assert "Annexe One > Reviewing, line 88" in kq["notes"]
    text = _by(report_import.read_report(NATIONAL_TEXT).rows, "key_question")
    assert text["reviewing_safety"]["source_url"] == "file:national_inspection_april_2025.txt"


def test_pdu_report() -> None:
    report = report_import.read_report(REPORTS / "pdu_test_page.html")
    assert (report.inspection_type, report.unit_name, report.region) == (
        "pdu",
        "Sunderland PDU",
        "North East",
    )
    assert report.publication_date == "2025-06-12"
    assert report.count("key_question") == 12
    ratings = {r["standard"]: r["rating"] for r in report.rows if r["rating"]}
    assert ratings["implementation_and_delivery"] == "Inadequate"
    assert ratings["overall"] == "Requires improvement"
    cases = _by(report.rows, "key_question")
    assert cases["cases_adjusted_standards"]["numerator"] == "2"  # 'two' in words
    assert cases["assessment_safety"]["value_pct"] == "40"


def test_regional_report_saved_as_text() -> None:
    report = report_import.read_report(REPORTS / "regional_test_page.txt")
    assert (report.inspection_type, report.unit_name, report.region) == (
        "regional",
        "Wales region",
        "Wales",
    )
    ratings = {r["standard"]: r["rating"] for r in report.rows if r["rating"]}
    assert ratings["desistance"] == "Inadequate"
    assert ratings["statutory_victim_work"] == "Outstanding"
    kq = _by(report.rows, "key_question")
    assert kq["implementation_desistance"]["value_pct"] == "44"
    assert "Annexe One > Desistance, line" in kq["implementation_desistance"]["notes"]
    assert kq["cases_inspected"]["n_cases"] == "300"
    assert "cases_core_standards" not in kq  # the sentence gives no split: none invented


def _variant(tmp_path: Path, old: str, new: str, suffix: str = ".html") -> Path:
    source = NATIONAL_HTML if suffix == ".html" else NATIONAL_TEXT
    text = source.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / f"variant{suffix}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_missing_annexe_is_refused_with_what_is_missing(tmp_path: Path) -> None:
    page = _variant(tmp_path, "Annexe One: Summary", "Summary")
    with pytest.raises(
        report_import.ReportLayoutError,
        match=r"variant\.html: refused.*no 'Annexe One' section heading",
    ):
        report_import.read_report(page)


def test_changed_heading_is_refused_naming_headings_seen(tmp_path: Path) -> None:
    page = _variant(tmp_path, "Ratings (Back to top)", "Our judgements (Back to top)", ".txt")
    with pytest.raises(report_import.ReportLayoutError) as caught:
        report_import.read_report(page)
    message = str(caught.value)
    assert "no 'Ratings' section heading" in message
    assert "Our judgements" in message  # what the page had instead


def test_unknown_wording_and_missing_date_are_refused_not_guessed(tmp_path: Path) -> None:
    page = _variant(
        tmp_path, "keeping other people safe?</td><td>25%", "keeping people safe?</td><td>25%"
    )
    with pytest.raises(report_import.ReportLayoutError, match="not in the key-question reference"):
        report_import.read_report(page)
    undated = _variant(tmp_path, "Published: 29 April 2025", "Published:", ".txt")
    with pytest.raises(report_import.ReportLayoutError, match="no publication date"):
        report_import.read_report(undated)


def test_markup_and_script_in_a_page_are_text_only(tmp_path: Path) -> None:
    page = _variant(
        tmp_path,
        '<h2 id="ratings">',
        "<script>__import__('os').system('touch PWNED')</script><h2 id=\"ratings\">",
    )
    report = report_import.read_report(page)
    assert report.count("key_question") == 13
    assert not any("import" in r["notes"].replace("import-reports", "") for r in report.rows)
    assert not Path("PWNED").exists()


def test_cli_imports_merges_without_duplicates_and_refuses_clearly(tmp_path: Path) -> None:
    out = tmp_path / "published" / "imported.csv"
    bad = tmp_path / "bad.txt"
    bad.write_text("Just some notes\nnothing like a report\n", encoding="utf-8")
    runner = CliRunner()
    first = runner.invoke(app, ["import-reports", str(REPORTS), "--out", str(out)])
    assert first.exit_code == 0, first.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 21 + 23 + 15  # national, PDU, regional; the text copy adds nothing
    assert all(r["source_url"] and r["notes"].startswith("import-reports: ") for r in rows)
    again = runner.invoke(app, ["import-reports", str(NATIONAL_TEXT), str(bad), "--out", str(out)])
    assert again.exit_code == 2
    assert "Traceback" not in again.output
    assert "bad.txt: refused" in again.output
    assert "no report title" in again.output
    assert len(list(csv.DictReader(out.open(encoding="utf-8")))) == len(rows)
    published = read_published(out.parent)
    assert published.rejected.height == 0
    assert published.table.height == len(rows)
