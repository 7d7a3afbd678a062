"""Charts: valid Vega-Lite with the house theme, suppressed cells absent, five-file export."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import polars as pl
import pytest

from pipeline.bulletins import charts, export, theme

REGION = "North East"


@pytest.fixture(scope="module")
def tables(sample_release: Path) -> dict[str, pl.DataFrame]:
    folder = sample_release / "tables"
    return {p.stem: pl.read_parquet(p) for p in folder.glob("*.parquet")}


def _all_charts(tables: dict[str, pl.DataFrame]) -> list[charts.ChartResult]:
    return [
        charts.safety_trend(tables["kq_trend"], REGION),
        charts.unification_dumbbell(tables["unification"], REGION),
        charts.kq_profile(tables["kq_trend"], REGION),
        charts.subgroup_chart(tables["subgroups"]),
        charts.published_ratings_chart(tables["published_ratings"]),
        charts.enquiries_chart(tables["enquiries"], REGION),
        charts.regional_small_multiples(tables["kq_trend"]),
    ]


def _values(spec: dict) -> list[dict]:
    """Every inline data row anywhere in a (layered, faceted, concatenated) spec."""
    rows = []
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "values" and isinstance(value, list):
                rows += [v for v in value if isinstance(v, dict)]
            elif key == "datasets" and isinstance(value, dict):
                for dataset in value.values():
                    rows += [v for v in dataset if isinstance(v, dict)]
            else:
                rows += _values(value)
    elif isinstance(spec, list):
        for item in spec:
            rows += _values(item)
    return rows


def test_every_chart_is_valid_vega_lite_with_the_theme(tables: dict) -> None:
    for result in _all_charts(tables):
        spec = result.chart.to_dict(validate=True)  # raises on an invalid spec
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
        config = spec["config"]
        assert config["font"] == theme.FONT, result.name
        assert config["title"]["anchor"] == "start"
        assert config["axisX"]["grid"] is False
        assert config["axisY"]["grid"] is True
        assert config["range"]["category"] == theme.PALETTE
        title = spec["title"]
        assert title["text"], result.name
        assert 2 <= len(title["subtitle"]) <= 4, result.name
        assert result.alt_text
        assert result.finding in result.alt_text


def test_synthetic_charts_say_so_and_real_ones_name_their_source(tables: dict) -> None:
    for result in _all_charts(tables):
        caption = result.chart.to_dict()["title"]["subtitle"][-1]
        if result.name == "published_ratings":
            assert "HM Inspectorate of Probation" in caption
            assert "synthetic" not in caption
        else:
            assert "synthetic sample" in caption
            assert "not official statistics" in caption


def test_suppressed_cells_are_never_plotted(tables: dict) -> None:
    trend = tables["kq_trend"]
    # make one visible national cell look suppressed: it must vanish from the chart's data
    target = trend.filter(
        pl.col("scope") == REGION,
        pl.col("comparable_id") == "IMPL_SAFE",
        pl.col("period_type") == "calendar_year",
        pl.col("series") == "core",
    ).sort("period")["period"][0]
    masked = trend.with_columns(
        pl.when((pl.col("scope") == REGION) & (pl.col("period") == target))
        .then(True)
        .otherwise(pl.col("suppressed"))
        .alias("suppressed")
    )
    result = charts.safety_trend(masked, REGION)
    years = {r["year"] for r in _values(result.chart.to_dict()) if r.get("scope") == REGION}
    assert int(target) not in years
    assert int(target) in {
        r["year"]
        for r in _values(charts.safety_trend(trend, REGION).chart.to_dict())
        if r.get("scope") == REGION
    }


def test_plotted_data_is_aggregated_and_small(tables: dict) -> None:
    for result in _all_charts(tables):
        assert result.data.height < 1000, result.name  # never near Altair's 5,000-row limit


def test_export_writes_four_files_and_a_png_when_asked(tables: dict, tmp_path: Path) -> None:
    result = charts.unification_dumbbell(tables["unification"], REGION)
    plain = export.save_chart_set(result, tmp_path / "plain", cache_dir=tmp_path / "cache")
    assert [p.suffix for p in plain] == [".svg", ".json", ".csv", ".txt"]
    paths = export.save_chart_set(result, tmp_path, export.PRINT_PPI, cache_dir=tmp_path / "cache")
    assert paths[1].read_bytes() == plain[0].read_bytes()
    assert [p.name for p in paths] == [
        "unification.png",
        "unification.svg",
        "unification.vl.json",
        "unification.csv",
        "unification.alt.txt",
    ]
    png = paths[0].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert width > 2000, "print resolution"
    assert paths[1].read_text().lstrip().startswith("<svg")
    assert json.loads(paths[2].read_text())["config"]["font"] == theme.FONT
    assert pl.read_csv(paths[3]).height == result.data.height
    assert result.finding in paths[4].read_text()
    # a second save of the same chart reuses the cached render, byte for byte
    again = export.save_chart_set(
        result, tmp_path / "again", export.PRINT_PPI, cache_dir=tmp_path / "cache"
    )
    assert again[0].read_bytes() == png


def test_data_colours_meet_the_graphics_contrast_minimum() -> None:
    """WCAG 1.4.11: marks that carry data need 3:1 against the white background, the rating
    colours included; adjacent ratings are told apart by more than lightness alone."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    for colour in (theme.FOCUS, theme.CONTEXT, *theme.PALETTE, *theme.RATING_COLOURS.values()):
        assert 1.05 / (luminance(colour) + 0.05) >= 3, colour
    ratings = list(theme.RATING_COLOURS.values())
    assert len(set(ratings)) == len(ratings)
    for better, worse in itertools.pairwise(ratings):
        assert _lab_distance(better, worse) >= 40, (better, worse)


def _lab_distance(one: str, two: str) -> float:
    """CIE76 colour difference (Euclidean in CIELAB, D65): about 2 is just noticeable, and
    categories in a chart want tens; the light blues #6BACE6 and #A8CCEE were 19 apart."""

    def lab(colour: str) -> tuple[float, float, float]:
        rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        xyz = (
            (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
            0.2126 * r + 0.7152 * g + 0.0722 * b,
            (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
        )
        f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in xyz]
        return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])

    return math.dist(lab(one), lab(two))


def _label_limits(spec: object) -> list[object]:
    """Every labelLimit set anywhere in a spec."""
    if isinstance(spec, dict):
        found = [v for k, v in spec.items() if k == "labelLimit"]
        return found + [x for v in spec.values() for x in _label_limits(v)]
    if isinstance(spec, list):
        return [x for v in spec for x in _label_limits(v)]
    return []


@pytest.mark.slow
def test_no_chart_label_is_cut_with_an_ellipsis(sample_release: Path, tmp_path: Path) -> None:
    """Long labels (prompts, questions, themes) wrap onto several lines: Vega cuts a label
    longer than its labelLimit with "…", so every chart of a regional and the national
    bulletin is rendered and no text in it may end with "…"."""
    import re

    from pipeline.bulletins import bulletin

    for area in ("Wales", "England and Wales"):
        report = bulletin.Bulletin.load(sample_release, area, output_dir=tmp_path / area)
        for result in report.chart_set():
            spec = result.chart.to_dict()
            assert all(limit == 0 for limit in _label_limits(spec)), result.name
            written = report.save_chart(result.name)
            svg = next(p for p in written if p.suffix == ".svg").read_text()
            texts = re.findall(r">([^<>]*)</(?:text|tspan)>", svg)
            assert texts, result.name
            cut = [t for t in texts if t.rstrip().endswith(("…", "..."))]
            assert not cut, f"{area} {result.name}: {cut}"
    prompts = json.dumps(report.chart("prompts").chart.to_dict())
    assert "labelExpr" in prompts, "the prompts chart wraps its labels"
