"""Disclosure control: the policy's primary rule, complementary suppression, and the attack.

The attack is tested on hand-worked tables and against an independent solver (SciPy's linprog),
then run on the sample's published tables, as an attacker would, and on random small samples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import refdata
from pipeline.config import Settings
from pipeline.disclosure import attack, suppression
from pipeline.disclosure import policy as disclosure
from pipeline.disclosure.linked_cells import CellSystem
from pipeline.domain import KEY_QUESTIONS, NATIONAL
from pipeline.tables import cells, marking, measures
from tests.helpers import released, valid_row, write_csv

SETTINGS = Settings()


def _systems_from_outputs(
    run: Path, release: Path
) -> tuple[list[CellSystem], dict[str, pl.DataFrame], disclosure.Pattern]:
    """What an attacker with the released tables and the structure of the data would use
    (the structure from the analysis run's case tables)."""
    cases = pl.read_parquet(run / "cases.parquet")
    answers = pl.read_parquet(run / "answers.parquet")
    published = {
        name: pl.read_parquet(release / "tables" / f"{name}.parquet")
        for name in disclosure.PROTECTED_TABLES
    }
    pattern = disclosure.Pattern.from_published(published)
    context = cells.answers_in_context(cases.lazy(), answers.lazy())
    inspections = pl.read_parquet(run / "inspections.parquet")
    groupings = disclosure.Groupings.of(inspections, refdata.cohorts(), context)
    frames = measures.measure_frames(
        cases.lazy(),
        answers.lazy(),
        pl.scan_parquet(run / "prompt_answers.parquet"),
        pl.scan_parquet(run / "rationales.parquet"),
    )
    systems = disclosure._systems(published, context, frames, pattern, groupings)
    return systems, published, pattern


def test_the_attack_on_the_sample_publication_finds_nothing(
    sample_run: Path, sample_release: Path
) -> None:
    systems, published, pattern = _systems_from_outputs(sample_run, sample_release)
    assert len(systems) > 100
    recovered, narrowest = disclosure.audit(systems, published, pattern, SETTINGS)
    assert recovered == 0
    assert min(narrowest.values()) >= SETTINGS.min_feasible_range, narrowest
    # and the protection was needed: without the complementary cells the attack succeeds
    bare = disclosure.Pattern(pattern.primary)
    exposed = sum(attack.recoverable(s, bare.unit_flags(s)[0]).size for s in systems)
    assert exposed > 0


def test_published_rows_follow_the_policy(sample_release: Path) -> None:
    for name in disclosure.PROTECTED_TABLES:
        table = pl.read_parquet(sample_release / "tables" / f"{name}.parquet")
        visible = table.filter(~pl.col("suppressed"))
        for column in [c for c in table.columns if c.startswith(("n_yes", "n_no"))]:
            assert (visible[column] >= SETTINGS.min_outcome_count).all(), (name, column)
        hidden = table.filter(pl.col("suppressed"))
        assert hidden["suppression"].is_in(["primary", "complementary"]).all(), name
        assert visible["suppression"].is_null().all(), name
        for column in marking.blanked_columns(table):
            assert hidden[column].is_null().all(), (name, column)


def test_regional_cells_withheld_by_policy_are_absent(sample_release: Path) -> None:
    trend = pl.read_parquet(sample_release / "tables" / "kq_trend.parquet")
    regional = trend.filter(pl.col("scope") != NATIONAL)
    assert set(regional["period_type"]) <= set(SETTINGS.regional_period_types)
    assert regional.filter(pl.col("period") == "national_2024").height == 0
    national = trend.filter(pl.col("scope") == NATIONAL)
    assert set(national["period_type"]) == {
        "calendar_year",
        "financial_year",
        "half_year",
        "programme",
    }


REGIONS = ("North East", "Wales", "London")


@st.composite
def small_exports(draw: st.DrawFn) -> list[dict]:
    """A few inspections in three regions over 2019-2024, with random sizes and success rates."""
    rows = []
    for i in range(draw(st.integers(2, 7))):
        year = draw(st.integers(2019, 2024))
        month = draw(st.integers(1, 12))
        pre = year < 2021 or (year == 2021 and month < 6)
        rate = draw(st.floats(0.05, 0.95))
        n = draw(st.integers(3, 60))
        seed = draw(st.integers(0, 10_000))
        rng = np.random.default_rng(seed)
        region = draw(st.sampled_from(REGIONS))
        for k in range(n):
            answers = {q: ("yes" if rng.random() < rate else "no") for q in KEY_QUESTIONS}
            rows.append(
                valid_row(
                    inspection_id=f"I{i}",
                    inspection_type="crc" if pre else "pdu",
                    framework="2018" if pre else "2023",
                    provider="CRC" if pre else "PS",
                    region=region,
                    fieldwork_start=f"{year}-{month:02d}-01",
                    fieldwork_end=f"{year}-{month:02d}-20",
                    start_date=f"{year - 1}-{month:02d}-01",
                    case_id=f"C{k}",
                    **answers,
                )
            )
    return rows


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=small_exports())
def test_random_small_publications_disclose_nothing(rows: list[dict], tmp_path_factory) -> None:
    """Whatever the data, a publication is either protected (nothing recoverable, every range
    at least the minimum) or refused."""
    from pipeline.stages import derive, ingest, published_figures, tidy, validate

    path = write_csv(tmp_path_factory.mktemp("export") / "x.csv", rows)
    accepted = validate.validate([ingest.read_case_file(path)]).accepted
    derived = derive.derive(accepted.lazy()).sort(*tidy.CASE_KEY).collect().lazy()
    cases = tidy.cases_table(derived).collect()
    answers = tidy.answers_table(derived).collect()
    inspections = tidy.inspections_table(cases.lazy()).collect()
    try:
        no_figures = published_figures.read_published(Path("/nonexistent")).table
        publication = released(
            cases,
            answers,
            inspections,
            no_figures,
            prompt_answers=tidy.prompt_answers_table(derived).collect(),
            rationales=tidy.rationales_table(derived).collect(),
        )
    except suppression.DisclosureBreach:
        return
    published = {n: publication[n] for n in disclosure.PROTECTED_TABLES}
    pattern = disclosure.Pattern.from_published(published)
    context = cells.answers_in_context(cases.lazy(), answers.lazy())
    groupings = disclosure.Groupings.of(inspections, refdata.cohorts(), context)
    frames = measures.measure_frames(
        cases.lazy(),
        answers.lazy(),
        tidy.prompt_answers_table(derived).collect().lazy(),
        tidy.rationales_table(derived).collect().lazy(),
    )
    systems = disclosure._systems(published, context, frames, pattern, groupings)
    recovered, narrowest = disclosure.audit(systems, published, pattern, SETTINGS)
    assert recovered == 0
    assert all(v >= SETTINGS.min_feasible_range for v in narrowest.values())


def _visible_numbers(run: Path) -> set[float]:
    """Every number a published table shows (rounded to 9 places)."""
    numbers: set[float] = set()
    models = ("published_ratings", "practitioner_effects", "funnel", "its")
    paths = [run / "tables" / f"{name}.parquet" for name in (*disclosure.PROTECTED_TABLES, *models)]
    for path in [*paths, run / "published.parquet"]:  # published: real figures, not cases
        table = pl.read_parquet(path)
        for column, dtype in table.schema.items():
            if dtype.is_numeric():
                numbers |= {round(float(v), 9) for v in table[column].drop_nulls().to_list()}
    return numbers


def test_charts_plot_only_numbers_the_tables_publish(sample_release: Path) -> None:
    """Chart data (and so chart files, alt text and findings) come from visible cells only."""
    from pipeline.bulletins.bulletin import Bulletin

    visible = _visible_numbers(sample_release)
    checked = 0
    for region in (NATIONAL, "London", "Wales", "North East"):
        for result in Bulletin.load(sample_release, region).chart_set():
            for column, dtype in result.data.schema.items():
                if not dtype.is_float():
                    continue
                for value in result.data[column].drop_nulls().to_list():
                    assert round(float(value), 9) in visible, (region, result.name, column, value)
                    checked += 1
    assert checked > 500


def test_the_workbook_hides_every_suppressed_number(sample_release: Path) -> None:
    import openpyxl

    from pipeline.outputs.publication import WORKBOOK_NAME, sheet_name

    book = openpyxl.load_workbook(sample_release / "tables" / WORKBOOK_NAME, read_only=True)
    checked = 0
    for name in disclosure.PROTECTED_TABLES:
        table = pl.read_parquet(sample_release / "tables" / f"{name}.parquet")
        blanked = {table.columns.index(c) for c in marking.blanked_columns(table)}
        rows = list(book[sheet_name(name)].iter_rows(min_row=6, values_only=True))
        assert len(rows) == table.height
        for flag, row in zip(table["suppressed"].to_list(), rows, strict=True):
            if flag:
                assert all(row[i] == "[c]" for i in blanked), (name, row)
                checked += 1
    assert checked > 100


def test_a_breach_found_beside_the_model_fits_refuses_the_release(
    sample_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack runs in a worker thread while the other tables are built: a breach it finds
    must still refuse the release, write nothing to the releases folder, and name the cells."""
    from pipeline.release import ReleaseRefused, make_release

    def breached(*_: object, **__: object) -> tuple[int, dict[str, float]]:
        return 2, {d: np.inf for d in disclosure.HELD_DIMENSIONS}

    monkeypatch.setattr(disclosure, "audit", breached)
    releases = tmp_path / "releases"
    with pytest.raises(ReleaseRefused, match="2 recoverable exactly") as refused:
        make_release(sample_run, releases)
    assert "Options:" in str(refused.value)
    assert [p.name for p in releases.iterdir()] == [".run.lock"]
    assert (sample_run / "cases.parquet").exists(), "the analysis outputs stay"
