"""Publication tables: agreement with DuckDB SQL and the stats module, disclosure control,
the workbook's accessibility rules, ratings and the real published ratings."""

from __future__ import annotations

import csv
import re
import zipfile
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from pipeline import refdata
from pipeline.config import PUBLISHED_DIR
from pipeline.domain import NATIONAL
from pipeline.outputs.publication import WORKBOOK_NAME
from pipeline.statistics import stats
from pipeline.tables import cells, ratings
from tests.helpers import released

THRESHOLD = refdata.settings().suppression_threshold


def _table(run: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(run / "tables" / f"{name}.parquet")


def test_trend_agrees_with_duckdb_sql(sample_run: Path, sample_release: Path) -> None:
    """The national calendar-year series, recomputed in SQL from the stored case tables."""
    con = duckdb.connect(str(sample_run / "probation.duckdb"), read_only=True)
    sql = con.sql("""
        SELECT a.comparable_id, CAST(c.calendar_year AS VARCHAR) AS period,
               count(*) FILTER (WHERE a.answer = 'yes') AS n_yes,
               count(*) FILTER (WHERE a.answer = 'no') AS n_no,
               count(*) FILTER (WHERE a.answer = 'na') AS n_na
        FROM answers a JOIN cases c USING (inspection_id, case_id)
        WHERE c.question_set = 'core' AND c.programme <> 'dipp_2025'
        GROUP BY ALL ORDER BY ALL
    """).pl()
    con.close()
    ours = (
        _table(sample_release, "kq_trend")
        .filter(
            pl.col("series") == "core",
            pl.col("scope") == NATIONAL,
            pl.col("period_type") == "calendar_year",
        )
        .select("comparable_id", "period", "n_yes", "n_no", "n_na")
        .sort("comparable_id", "period")
    )
    assert ours.height == sql.height
    sql = sql.with_columns(pl.col("n_yes", "n_no", "n_na").cast(pl.Int64))
    visible = ours.filter(pl.col("n_yes").is_not_null())  # suppressed cells are blank
    assert visible.height >= 0.9 * ours.height
    assert visible.equals(
        sql.join(
            visible.select("comparable_id", "period"), on=["comparable_id", "period"], how="semi"
        )
    )


def test_percentages_and_wilson_columns(sample_run: Path) -> None:
    shown = _table(sample_run, "kq_trend").filter(~pl.col("suppressed"))
    assert shown.filter(pl.col("levels_only"))["ci_low"].null_count() == shown["levels_only"].sum()
    trend = shown.filter(~pl.col("levels_only")).head(200)
    low, high = stats.wilson_interval(trend["n_yes"].to_numpy(), trend["n_applicable"].to_numpy())
    np.testing.assert_allclose(trend["ci_low"].to_numpy(), 100 * low, atol=1e-9)
    np.testing.assert_allclose(trend["ci_high"].to_numpy(), 100 * high, atol=1e-9)
    np.testing.assert_allclose(
        trend["pct"].to_numpy(), 100 * trend["n_yes"] / trend["n_applicable"], atol=1e-9
    )


def test_cluster_columns_agree_with_the_reference_function(sample_run: Path) -> None:
    cases = pl.read_parquet(sample_run / "cases.parquet")
    answers = pl.read_parquet(sample_run / "answers.parquet")
    context = cells.answers_in_context(cases.lazy(), answers.lazy()).collect()
    trend = _table(sample_run, "kq_trend").filter(
        pl.col("scope") == NATIONAL,
        pl.col("period_type") == "programme",
        pl.col("n_inspections") >= 2,
    )
    assert trend.height > 10
    for row in trend.iter_rows(named=True):
        cell = context.filter(
            pl.col("series") == row["series"],
            pl.col("comparable_id") == row["comparable_id"],
            pl.col("programme").cast(pl.String) == row["period"],
        )
        per = cell.group_by("inspection_id").agg(
            (pl.col("answer") == "yes").sum().alias("k"),
            pl.col("answer").is_in(["yes", "no"]).sum().alias("m"),
        )
        ref = stats.cluster_variance(per["k"].to_numpy(), per["m"].to_numpy())
        assert row["design_effect_empirical"] == pytest.approx(ref.design_effect, rel=1e-9)
        m = per["m"].to_numpy().astype(float)
        model = 1 + ((m**2).sum() / m.sum() - 1) * row["icc"]  # Kish, pooled ICC
        assert row["design_effect"] == pytest.approx(model, rel=1e-9)
        assert row["n_effective"] == pytest.approx(m.sum() / model, rel=1e-9)


def test_cluster_intervals_are_wider_than_wilson(sample_release: Path) -> None:
    national = _table(sample_release, "kq_trend").filter(
        pl.col("scope") == NATIONAL,
        pl.col("period_type") == "programme",
        pl.col("ci_cluster_low").is_not_null(),
    )
    ratio = (national["ci_cluster_high"] - national["ci_cluster_low"]) / (
        national["ci_high"] - national["ci_low"]
    )
    assert ratio.min() >= 1.0 - 1e-12
    assert ratio.median() > 1.2  # clustering in the sample makes intervals clearly wider


def test_unification_table(sample_run: Path) -> None:
    unify = _table(sample_run, "unification")
    national = unify.filter(pl.col("scope") == NATIONAL)
    assert national.height == 12
    assert not national["suppressed"].any()
    np.testing.assert_allclose(
        national["diff_pp"], national["pct_post"] - national["pct_pre"], atol=1e-9
    )
    assert (national["diff_ci_low"] <= national["diff_pp"]).all()
    assert (national["diff_pp"] <= national["diff_ci_high"]).all()
    assert national["adjusted_diff_pp"].is_not_null().all()
    assert national["model_converged"].all()
    # the synthetic sample is built so safety fell after unification
    safety = national.filter(pl.col("theme") == "safety")
    assert (safety["diff_ci_high"] < 0).all()


def test_dipp_is_a_separate_series(sample_release: Path) -> None:
    trend = _table(sample_release, "kq_trend")
    dipp = trend.filter(pl.col("series") == "dipp")
    assert set(dipp["theme"]) == {"safety"}
    assert (
        "dipp_2025"
        not in trend.filter(pl.col("series") == "core", pl.col("period_type") == "programme")[
            "period"
        ]
    )


def test_no_published_cell_is_below_the_threshold(sample_release: Path) -> None:
    """Disclosure scan over every table written under tables/ (Parquet and CSV)."""
    folder = sample_release / "tables"
    denominators = re.compile(r"^n_applicable(_pre|_post|_min)?$")
    checked = 0
    for path in sorted(folder.glob("*.parquet")):
        frame = pl.read_parquet(path)
        columns = [c for c in frame.columns if denominators.match(c)]
        if path.stem == "published_ratings":  # counts of published reports, not people
            continue
        for column in columns:
            visible = frame.filter(pl.col(column).is_not_null())
            assert (visible[column] >= THRESHOLD).all(), f"{path.name}: {column}"
            checked += visible.height
        csv_frame = pl.read_csv(folder / f"{path.stem}.csv", infer_schema_length=0)
        for column in columns:
            values = csv_frame[column].drop_nulls().cast(pl.Int64)
            assert (values >= THRESHOLD).all(), f"{path.stem}.csv: {column}"
    assert checked > 1000


def test_a_higher_threshold_suppresses_more(sample_run: Path, sample_release: Path) -> None:
    cases = pl.read_parquet(sample_run / "cases.parquet")
    answers = pl.read_parquet(sample_run / "answers.parquet")
    inspections = pl.read_parquet(sample_run / "inspections.parquet")
    published = pl.read_parquet(sample_run / "published.parquet")
    strict = released(cases, answers, inspections, published, threshold=100)
    default = _table(sample_release, "kq_trend")
    assert strict["kq_trend"]["suppressed"].sum() > default["suppressed"].sum()
    visible = strict["kq_trend"].filter(~pl.col("suppressed"))
    assert (visible["n_applicable"] >= 100).all()


def test_ratings_follow_the_lowest_key_question(sample_run: Path, sample_release: Path) -> None:
    rated = _table(sample_release, "ratings").filter(
        ~pl.col("suppressed"), pl.col("framework") != "dipp2025"
    )
    assert rated.height > 100
    for row in rated.head(60).iter_rows(named=True):
        lowest = min(row["pct_engagement"], row["pct_desistance"], row["pct_safety"])
        expected = (
            "Outstanding"
            if lowest >= 80
            else "Good"
            if lowest >= 65
            else "Requires improvement"
            if lowest >= 50
            else "Inadequate"
        )
        assert row["rating"] == expected
        assert row["rule_verified"] is False
    everything = _table(sample_release, "ratings")
    # HMIP rates case standards from case data only in CRC, NPS and PDU inspections: national
    # and dynamic inspections publish case findings unrated (seed 003: "did not contribute
    # directly to the ratings"), regional standards come from pooled PDU data
    assert set(everything["inspection_type"]) == {"crc", "nps", "pdu"}
    assert set(everything["rated_by"]) == {"case_data"}
    inspections = pl.read_parquet(sample_run / "inspections.parquet")
    unrated = inspections.filter(pl.col("inspection_type").is_in(["national", "dipp"]))
    assert unrated.height == 13
    assert everything.join(unrated, on="inspection_id", how="semi").height == 0
    overall = _table(sample_release, "ratings_overall")
    assert overall["overall_rating"].is_null().all()
    assert overall["reason"].is_not_null().all()


def test_published_ratings_match_the_source_file(sample_release: Path) -> None:
    table = _table(sample_release, "published_ratings")
    assert not table["synthetic"].any()
    shares = table.group_by("grouping", "inspection_type", "group").agg(pl.col("share_pct").sum())
    np.testing.assert_allclose(shares["share_pct"], 100, atol=1e-9)
    with (PUBLISHED_DIR / "published_figures.csv").open(newline="") as fh:
        rows = [
            r
            for r in csv.DictReader(fh)
            if r["standard"] == "overall"
            and r["rating"]
            and r["level"] in ("crc", "nps_division", "pdu", "region", "national")
        ]
    by_level = Counter(r["level"] for r in rows)
    era = table.filter(pl.col("grouping") == "era")
    counts = dict(era.group_by("inspection_type").agg(pl.col("n_inspections").sum()).iter_rows())
    assert counts["crc"] == by_level["crc"]
    assert counts["nps"] == by_level["nps_division"]
    assert counts["pdu"] == by_level["pdu"]


def test_workbook_follows_the_spreadsheet_guidance(sample_release: Path) -> None:
    path = sample_release / "tables" / WORKBOOK_NAME
    with zipfile.ZipFile(path) as book:
        names = book.namelist()
        sheets = [book.read(n).decode() for n in names if n.startswith("xl/worksheets/sheet")]
        workbook_xml = book.read("xl/workbook.xml").decode()
        strings = book.read("xl/sharedStrings.xml").decode()
    order = re.findall(r'<sheet name="([^"]+)"', workbook_xml)
    assert order[:3] == ["Cover", "Contents", "Notes"]
    assert all("<mergeCell" not in s for s in sheets), "no merged cells"
    assert all("<f>" not in s for s in sheets), "no formulas"
    assert "SYNTHETIC" in strings
    assert "[x]" in strings  # e.g. no cluster interval for a single-inspection cell
    assert len([n for n in names if n.startswith("xl/tables/table")]) == len(order) - 3
    # nothing that a spreadsheet would execute
    assert not re.search(r"<t[^>]*>[=+\-@]", strings)


def test_band_edges_through_the_expression() -> None:
    frame = pl.DataFrame({"pct": [49.9, 50.0, 64.9, 65.0, 79.9, 80.0]})
    got = frame.select(ratings.band_expr(pl.col("pct"), "2023").alias("band"))["band"]
    got = got.cast(pl.String)
    assert got.to_list() == [
        "Inadequate",
        "Requires improvement",
        "Requires improvement",
        "Good",
        "Good",
        "Outstanding",
    ]


def test_row_order_does_not_change_any_estimate(sample_run: Path, sample_release: Path) -> None:
    cases = pl.read_parquet(sample_run / "cases.parquet")
    answers = pl.read_parquet(sample_run / "answers.parquet")
    inspections = pl.read_parquet(sample_run / "inspections.parquet")
    published = pl.read_parquet(sample_run / "published.parquet")
    shuffled = released(
        cases.sample(fraction=1, shuffle=True, seed=1),
        answers.sample(fraction=1, shuffle=True, seed=2),
        inspections,
        published,
    )
    for name in ("unification", "kq_trend", "subgroups"):
        ours = _table(sample_release, name)
        theirs = shuffled[name].select(ours.columns)
        numeric = [c for c, t in ours.schema.items() if t == pl.Float64]
        assert ours.drop(numeric).equals(theirs.drop(numeric)), name
        for column in numeric:
            np.testing.assert_allclose(
                ours[column].fill_null(np.nan).to_numpy(),
                theirs[column].fill_null(np.nan).to_numpy(),
                atol=1e-9,
                rtol=0,
                err_msg=f"{name}.{column}",
            )
