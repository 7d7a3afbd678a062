"""The bulletin as a publication: HTML page and A4 PDF, accessible, free of machine paths and
developer vocabulary; parameters that refuse what they do not understand."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest

from pipeline import refdata
from pipeline.bulletins import batch, bulletin, document
from pipeline.domain import NATIONAL

FORBIDDEN = [
    (re.compile(r"(?<![\w.])/(?:tmp|home|work|root|usr|Users)/"), "a machine path"),
    (re.compile(r"[A-Z]:\\\\"), "a Windows path"),
    (re.compile(r"\bpipeline\.|\bprobation (?:run|sample|bulletins|validate|docs)\b"), "code"),
    (re.compile(r"data/raw|data/processed|\.parquet\b|reference/"), "a project file"),
    (re.compile(r"No description has been provided"), "a missing alt text"),
]
ALT_TEXT_FORBIDDEN = [
    re.compile(r"\bwhere (?:do|does|did|is|was|were|are)\b"),  # a question pasted into a sentence
    re.compile(r"\?\s+\w"),  # a question mark mid-sentence
    re.compile(r"England and Wales and England and Wales|England and Wales against England"),
    re.compile(r"\b[a-z]+_[a-z_]+\b"),  # a code name
]


@pytest.fixture(scope="module")
def documents(sample_release: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The national and one regional bulletin written from the sample run."""
    out = tmp_path_factory.mktemp("bulletins")
    written = {}
    for region in (NATIONAL, "Wales"):
        folder = out / refdata.region_slug(region)
        report = bulletin.Bulletin.load(sample_release, region, output_dir=folder)
        document.write(report, folder, dt.date(2026, 11, 25))
        written[region] = folder
    return written


@pytest.mark.parametrize("region", [NATIONAL, "Wales"])
def test_the_html_page_is_a_publication(documents: dict[str, Path], region: str) -> None:
    page = (documents[region] / "bulletin.html").read_text()
    assert re.search(r"<title>(?:Draft: )?Probation casework quality in [^<]+</title>", page)
    for part in ("Key findings", "Contents", "Quality and methods", "Open Government Licence"):
        assert part in page, part
    settings = refdata.publication()
    assert settings.date_line(dt.date(2026, 11, 25)) in page
    if settings.draft:
        assert "Draft: not for publication" in page
        assert "Published 25 November" not in page, "a draft never claims to be published"
    assert settings.contact_email in page
    assert "issue tracker" not in page
    assert settings.synthetic_source in page, "a synthetic bulletin names the synthetic sample"
    assert settings.case_source not in page, "...and not HMIP's case assessments as its source"
    assert "Synthetic sample" in page
    svgs = re.findall(r"<svg [^>]*>", page)
    captions = re.findall(r'<figcaption id="([^"]+)">([^<]+)</figcaption>', page)
    assert len(svgs) == len(captions) >= 8
    labelled = {m for s in svgs for m in re.findall(r'aria-labelledby="([^"]+)"', s)}
    assert labelled == {c[0] for c in captions}, "every chart is described by its caption"
    assert page.count("<table>") >= len(captions) - 1
    assert "@font-face" in page
    assert "Source Sans Pro" in page


@pytest.mark.parametrize("region", [NATIONAL, "Wales"])
def test_nothing_published_names_a_path_or_code(documents: dict[str, Path], region: str) -> None:
    folder = documents[region]
    texts = {"bulletin.html": (folder / "bulletin.html").read_text()}
    for path in folder.glob("*.alt.txt"):
        texts[path.name] = path.read_text()
    for path in folder.glob("*.vl.json"):
        texts[path.name] = path.read_text()
    for name, text in texts.items():
        visible = re.sub(r"data:font/ttf;base64,[A-Za-z0-9+/=]+", "", text)
        for pattern, what in FORBIDDEN:
            match = pattern.search(visible)
            assert match is None, f"{name} shows {what}: {match.group(0) if match else ''}"


@pytest.mark.parametrize("region", [NATIONAL, "Wales"])
def test_the_pdf_is_a4(documents: dict[str, Path], region: str) -> None:
    pdf = (documents[region] / "bulletin.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]", pdf)
    assert boxes, "page boxes"
    assert {(round(float(w)), round(float(h))) for w, h in boxes} == {(595, 842)}  # A4 points
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert 4 <= pages <= 40
    assert b"SourceSansPro" in pdf, "the font is embedded"


def test_a_draft_prints_as_a_draft_everywhere() -> None:
    """One wording for the draft state (bulletin, workbook cover, release manifest), and a
    published status names its date."""
    import dataclasses

    settings = refdata.publication()
    draft = dataclasses.replace(settings, status="draft", publication_date=dt.date(2026, 12, 7))
    assert draft.date_line() == "Draft: not for publication (planned publication 7 December 2026)"
    final = dataclasses.replace(draft, status="published")
    assert final.date_line() == "Published 7 December 2026"
    assert final.date_line(dt.date(2027, 1, 2)) == "Published 2 January 2027"


def test_regional_bulletins_leave_out_national_only_charts(documents: dict[str, Path]) -> None:
    page = (documents["Wales"] / "bulletin.html").read_text()
    assert 'id="published-ratings"' not in page
    assert "England and Wales context" in page
    assert 'id="regional-ratings"' in page


def test_every_alt_text_reads_as_a_sentence(sample_release: Path) -> None:
    """Every alt text of every bulletin against the patterns of broken generated text."""
    checked = 0
    for region in [*refdata.region_names(), NATIONAL]:
        report = bulletin.Bulletin.load(sample_release, region)
        for result in report.chart_set():
            for pattern in ALT_TEXT_FORBIDDEN:
                match = pattern.search(result.alt_text)
                assert match is None, f"{region} {result.name}: {match.group(0) if match else ''}"
            checked += 1
    assert checked >= 12 * 8 + 15  # 8 sections per region, 15 in England and Wales


def test_a_misspelt_parameter_is_refused_by_name() -> None:
    with pytest.raises(bulletin.BulletinInputError, match=r"'regoin' \(did you mean 'region'\?\)"):
        bulletin.refuse_unknown_parameters({"regoin": "Wales", "region": "North East", "In": []})
    bulletin.refuse_unknown_parameters({"region": "Wales", "_i1": "", "bulletin": bulletin})


def test_the_notebooks_declare_the_bulletin_parameters_with_types() -> None:
    import papermill

    for name in (batch.REGIONAL_NOTEBOOK, batch.NATIONAL_NOTEBOOK):
        declared = papermill.inspect_notebook(str(Path("notebooks") / name))
        assert list(declared) == list(bulletin.PARAMETERS), name
        for parameter in declared.values():
            assert parameter["inferred_type_name"] in ("str", "int", "bool"), parameter
            assert parameter["help"], parameter


def test_a_period_without_data_is_refused(sample_release: Path) -> None:
    with pytest.raises(bulletin.BulletinInputError, match="no inspection data for Wales"):
        bulletin.Bulletin.load(sample_release, "Wales", 2030, 2031)


def test_trend_lines_break_at_unification_and_gaps() -> None:
    frame = pl.DataFrame({"year": [2018, 2019, 2021, 2022, 2024]})
    segments = frame.select(document_segment())["segment"].to_list()
    assert segments == [0, 0, 1, 2, 3]  # gap 2019-2021, unification 2021|2022, gap 2022-2024


def document_segment() -> pl.Expr:
    from pipeline.bulletins.charts import _segment

    return _segment()


def test_the_batch_summary_keeps_other_regions(tmp_path: Path) -> None:
    path = tmp_path / "bulletins_summary.csv"
    one = batch.JobResult("Wales", "wales", "regional_bulletin.ipynb", "ok", 1.0, 1, "")
    two = batch.JobResult("London", "london", "regional_bulletin.ipynb", "failed", 2.0, 1, "x")
    batch.write_summary([one], path)
    batch.write_summary([two], path)
    rows = pl.read_csv(path)
    assert rows["region"].to_list() == ["London", "Wales"]


def test_the_batch_refuses_to_let_param_move_a_region(tmp_path: Path) -> None:
    with pytest.raises(batch.BatchInputError, match="cannot set output_dir"):
        batch._jobs(["Wales"], False, tmp_path, tmp_path, Path("notebooks"),
                    {"output_dir": "/elsewhere"}, {})  # fmt: skip


def test_plain_papermill_fails_on_a_misspelt_parameter(
    sample_release: Path, tmp_path: Path
) -> None:
    """Papermill only warns about unknown parameters; the notebook itself must stop."""
    import papermill

    with pytest.raises(papermill.PapermillExecutionError, match="regoin"):
        papermill.execute_notebook(
            str(Path("notebooks") / batch.REGIONAL_NOTEBOOK),
            str(tmp_path / "out.ipynb"),
            parameters={"regoin": "Wales", "data_dir": str(sample_release),
                        "output_dir": str(tmp_path / "figures")},
            kernel_name=batch.KERNEL_NAME,
            progress_bar=False,
        )  # fmt: skip
    assert not (tmp_path / "figures").exists(), "nothing was built for the default region"


def test_no_title_claims_a_direction_its_comparison_does_not_support(sample_release: Path) -> None:
    """A title that says 'less often' or 'more often' rests on a clustered, case-mix adjusted,
    Holm-adjusted comparison whose interval excludes zero in that direction."""
    unification = pl.read_parquet(sample_release / "tables" / "unification.parquet").filter(
        pl.col("comparable_id") == "IMPL_SAFE"
    )
    claims = 0
    for region in [*refdata.region_names(), NATIONAL]:
        report = bulletin.Bulletin.load(sample_release, region)
        text = report.chart("safety_trend").chart.to_dict()["title"]["text"]
        title = " ".join(text) if isinstance(text, list) else text
        row = unification.filter(pl.col("scope") == region).row(0, named=True)
        if "less often" in title or "more often" in title:
            claims += 1
            assert row["significant_holm"], (region, title)
            if "less often" in title:
                assert row["adjusted_ci_high"] < 0, (region, title)
            else:
                assert row["adjusted_ci_low"] > 0, (region, title)
        else:
            assert not row["significant_holm"], (region, title)
    assert claims >= 1


def test_pdf_table_columns_are_as_wide_as_their_longest_word() -> None:
    """Equal widths squeezed 'Implementation' into a column sized for '-14.2' and the word ran
    over the next cell in the PDF; widths now follow each column's longest word."""
    table = pl.DataFrame(
        {
            "Question": ["Implementation and delivery: engagement", "Planning: safety"],
            "Change, lower limit": ["-14.2", "-3.0"],
            "Cases (n)": ["554", "12"],
        }
    )
    # longest words: 'Implementation' 14, 'Change,' 7, and the floor of 5 for 'Cases', '554'
    assert document._column_widths(table, document._rows(table)) == "(14fr, 7fr, 5fr)"


def test_table_cells_carry_thousands_separators_but_years_do_not() -> None:
    table = pl.DataFrame({"Year": [2024], "Cases (n)": [4797], "Sufficient (%)": [51.5]})
    assert document._rows(table) == [["2024", "4,797", "51.5"]]
    assert document.numeric_columns(table) == [True, True, True]
    source = document._typst_table(table)
    assert "hyphenate: false" in source
    assert "align: (right, right, right,)" in source
