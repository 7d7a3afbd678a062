"""Bulletin content: parameters, headline sentences computed from the tables, escaping."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline import refdata
from pipeline.bulletins import bulletin
from pipeline.domain import NATIONAL


def test_region_names_and_aliases(sample_run: Path) -> None:
    assert bulletin.resolve_region("KSS") == "Kent, Surrey and Sussex"
    assert bulletin.resolve_region("england and wales") == "England and Wales"
    with pytest.raises(bulletin.BulletinInputError, match="not one of the 12 regions"):
        bulletin.resolve_region("Atlantis")


@pytest.mark.parametrize(("value", "year"), [(2019, 2019), ("2019", 2019), ("2019-04-01", 2019)])
def test_period_parameters(value: object, year: int) -> None:
    assert bulletin._year(value, "period_start") == year


def test_bad_period_is_an_error(sample_release: Path) -> None:
    with pytest.raises(bulletin.BulletinInputError, match="period_start"):
        bulletin.Bulletin.load(sample_release, "Wales", period_start="twenty")
    with pytest.raises(bulletin.BulletinInputError, match="after"):
        bulletin.Bulletin.load(sample_release, "Wales", 2025, 2019)


def test_only_the_regions_rows_are_loaded(sample_release: Path) -> None:
    report = bulletin.Bulletin.load(sample_release, "Wales")
    assert set(report.tables["unification"]["scope"]) == {"Wales", "England and Wales"}
    # the region among the twelve reads every region's published trend cells, and only them
    assert set(report.tables["kq_trend"]["scope"]) == {*refdata.region_names(), NATIONAL}


def test_headline_numbers_come_from_the_unification_table(sample_release: Path) -> None:
    report = bulletin.Bulletin.load(sample_release, "North East")
    row = (
        pl.read_parquet(sample_release / "tables" / "unification.parquet")
        .filter(pl.col("scope") == "North East", pl.col("comparable_id") == "IMPL_SAFE")
        .row(0, named=True)
    )
    text = report.headline()
    assert f"{row['pct_post']:.0f}% of cases inspected after unification" in text
    assert f"against {row['pct_pre']:.0f}% before" in text
    assert "synthetic" in text


def test_missing_tables_give_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(bulletin.BulletinInputError, match="probation release"):
        bulletin.Bulletin.load(tmp_path, "Wales")


def test_markdown_is_escaped(sample_release: Path) -> None:
    report = bulletin.Bulletin.load(sample_release, "Kent, Surrey and Sussex")
    result = report.chart("safety_trend")
    result.finding = "<script>alert(1)</script>"
    assert "<script>" not in bulletin.finding_markdown(result)


def test_save_writes_every_chart_set(sample_release: Path, tmp_path: Path) -> None:
    report = bulletin.Bulletin.load(sample_release, "Wales", output_dir=tmp_path / "wales")
    written = report.save()
    # 13 regional sections x 4 files (SVG, spec, data, alt text): trend, among the twelve,
    # unification, same areas (key questions, needs met), profile, risk, enquiries, cohort,
    # court work, oversight, rating movement, dynamic-inspection bridge (published ratings are
    # England and Wales only)
    assert len(written) == 13 * 4
    assert (tmp_path / "wales" / "dipp_bridge.svg").exists()
    assert (tmp_path / "wales" / "safety_trend.svg").exists()
    assert not list((tmp_path / "wales").glob("*.png")), "a PNG only when asked for"


def test_png_when_asked_for(sample_release: Path, tmp_path: Path) -> None:
    report = bulletin.Bulletin.load(sample_release, "Wales", output_dir=tmp_path, png=True)
    assert len(report.save()) == 13 * 5
    png = (tmp_path / "safety_trend.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    shown, _ = report.show("safety_trend")._repr_mimebundle_()  # type: ignore[attr-defined]
    assert set(shown) == {"image/png", "image/svg+xml", "text/plain"}
    without = bulletin.Bulletin.load(sample_release, "Wales", output_dir=tmp_path / "svg")
    shown, _ = without.show("safety_trend")._repr_mimebundle_()  # type: ignore[attr-defined]
    assert set(shown) == {"image/svg+xml", "text/plain"}


def test_every_headline_agrees_with_the_table_it_quotes(sample_release: Path) -> None:
    """Significance statements follow the clustered, multiplicity-adjusted results."""
    from pipeline import refdata
    from pipeline.domain import NATIONAL

    table = pl.read_parquet(sample_release / "tables" / "unification.parquet")
    for region in [NATIONAL, *refdata.region_names()]:
        report = bulletin.Bulletin.load(sample_release, region)
        text, claims = report.headline(), report.headline_claims()
        for claim in claims:
            row = table.filter(
                pl.col("scope") == region, pl.col("comparable_id") == claim.comparable_id
            ).row(0, named=True)
            assert claim.significant == row["significant_holm"], region
            if claim.significant is None:
                assert "not assessed" in text, region
            elif claim.significant:
                assert "not statistically significant" not in text, region
                assert claim.direction == ("lower" if row["adjusted_diff_pp"] < 0 else "higher")
            else:
                assert "not statistically significant" in text, region
        for result in report.chart_set():
            lowered = result.chart.to_dict().get("title", {}).get("text", "")
            if "less often" in str(lowered) or "more often" in str(lowered):
                assert claims, (region, lowered)
                assert claims[0].significant, (region, lowered)


def test_chart_bands_are_the_clustered_intervals(sample_release: Path) -> None:
    report = bulletin.Bulletin.load(sample_release, "London")
    data = report.chart("safety_trend").data
    trend = pl.read_parquet(sample_release / "tables" / "kq_trend.parquet").filter(
        pl.col("comparable_id") == "IMPL_SAFE", pl.col("period_type") == "calendar_year"
    )
    joined = data.join(
        trend.with_columns(pl.col("period").cast(pl.Int32).alias("year")),
        on=["scope", "series", "year"],
    )
    assert joined.height == data.height > 0
    assert (joined["interval_low"] == joined["ci_cluster_low"]).all()
    assert (joined["interval_high"] == joined["ci_cluster_high"]).all()
