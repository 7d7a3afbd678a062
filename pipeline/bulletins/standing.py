"""Where each region stands: the twelve regions side by side on keeping people safe.

Two charts read the same published cells (the release's `kq_trend`, the core inspection
programme whose published cells reach at least half the regions): "the region among twelve" in each
regional bulletin, and the small multiple "where each region stands" on the batch's index
page. Suppressed cells are never drawn (they are absent, not recomputed); a level on too few
inspections for an interval is drawn without one and marked [u].
"""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl

from pipeline import refdata
from pipeline.bulletins.charts import (
    INTERVAL,
    LEVELS_ONLY_NOTE,
    ChartResult,
    _visible,
    levels_only_marks,
)
from pipeline.bulletins.theme import AXIS_GREY, CONTEXT, FOCUS, WIDTH, case_title, use_theme
from pipeline.domain import NATIONAL

MEASURE = "IMPL_SAFE"
MEASURE_WORDS = "implementation and delivery supported the safety of other people"
MEASURE_LABEL = "Implementation and delivery supporting the safety of other people"
OTHER_REGION = "Other regions"


def _programme_order() -> list[tuple[str, str]]:
    """(programme, label) with regional cells, oldest first."""
    programmes = refdata.programmes().filter(pl.col("regional_cells").cast(pl.String) == "true")
    ordered = programmes.unique("programme", keep="first").sort("order")
    return list(ordered.select("programme", "programme_label").iter_rows())


def latest_cells(kq_trend: pl.DataFrame, comparable_id: str = MEASURE) -> tuple[pl.DataFrame, str]:
    """The published cells of the latest core programme in which at least half the regions have
    a visible cell (else the latest with any), with England and Wales: one row per region shown
    (and England and Wales), with the programme's label. A programme that reaches only one or
    two regions (the refreshed regional inspections so far) would place a region among none.
    Empty when no programme qualifies."""
    rows = _visible(
        kq_trend.filter(
            pl.col("series") == "core",
            pl.col("comparable_id") == comparable_id,
            pl.col("period_type") == "programme",
            pl.col("scope").is_in([*refdata.region_names(), NATIONAL]),
        )
    )
    reach = {
        programme: len(set(rows.filter(pl.col("period") == programme)["scope"]) - {NATIONAL})
        for programme, _ in _programme_order()
    }
    half = len(refdata.region_names()) / 2
    latest_first = list(reversed(_programme_order()))
    for programme, label in sorted(latest_first, key=lambda pair: reach[pair[0]] < half):
        cells = rows.filter(pl.col("period") == programme)
        scopes = set(cells["scope"])
        if NATIONAL in scopes and len(scopes) > 1:
            data = cells.select(
                pl.col("scope").alias("region"), "pct", *INTERVAL, "n_inspections", "n_applicable"
            )
            return data.with_columns(pl.col("levels_only").fill_null(False)), str(label)
    empty = rows.head(0).select(
        pl.col("scope").alias("region"), "pct", *INTERVAL, "n_inspections", "n_applicable"
    )
    return empty, ""


def _rank_sentence(regions: pl.DataFrame, region: str, national: float | None) -> str:
    """Where `region` falls among the regions shown, computed from the plotted cells."""
    ordered = regions.sort("pct", descending=True)["region"].to_list()
    if region not in ordered:
        return f"No published figure for {region} in this programme: it is left out, not estimated."
    row = regions.filter(pl.col("region") == region).row(0, named=True)
    place = ordered.index(region) + 1
    text = (
        f"{region}: {row['pct']:.0f}% of cases sufficient on keeping other people safe in "
        f"implementation and delivery, {_ordinal(place)} highest of the {len(ordered)} regions "
        "with a published figure"
    )
    if national is not None:
        text += f" (England and Wales {national:.0f}%)"
    text += "."
    low, high = row["interval_low"], row["interval_high"]
    if row["levels_only"] or low is None or high is None:
        return text + " It rests on too few inspections for an interval [u]."
    if national is not None and low > national:
        return text + " Its interval lies above the England and Wales figure."
    if national is not None and high < national:
        return text + " Its interval lies below the England and Wales figure."
    return (
        text + " Its interval includes the England and Wales figure: the data cannot tell it apart."
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _split(data: pl.DataFrame) -> tuple[pl.DataFrame, float | None]:
    """The regions' rows and the England and Wales figure."""
    national = data.filter(pl.col("region") == NATIONAL)["pct"]
    return data.filter(pl.col("region") != NATIONAL), (
        float(national[0]) if national.len() else None
    )


def region_among_twelve(kq_trend: pl.DataFrame, region: str, synthetic: bool) -> ChartResult:
    """The region's figure among all twelve regions' on keeping people safe, the latest
    programme: dots with their intervals, the region in the focus colour, England and Wales as
    a reference line."""
    use_theme()
    cells, label = latest_cells(kq_trend)
    regions, national = _split(cells)
    data = regions.with_columns(
        pl.when(pl.col("region") == region)
        .then(pl.lit(region))
        .otherwise(pl.lit(OTHER_REGION))
        .alias("shown_as")
    ).sort("pct", descending=True)
    order = data["region"].to_list()
    colour = alt.Color(
        "shown_as:N",
        scale=alt.Scale(domain=[region, OTHER_REGION], range=[FOCUS, CONTEXT]),
        legend=alt.Legend(title=None, symbolType="circle"),
    )
    y = alt.Y("region:N", sort=order, title=None, axis=alt.Axis(labelLimit=0))
    x = alt.X("interval_low:Q", title="% of cases sufficient", scale=alt.Scale(domain=[0, 100]))
    rule = alt.Chart().mark_rule(strokeWidth=2).encode(y=y, x=x, x2="interval_high:Q", color=colour)
    tooltip: list[Any] = ["region", alt.Tooltip("pct:Q", format=".1f"), "n_inspections"]
    dot = (
        alt.Chart()
        .mark_point(filled=True, size=80, opacity=1)
        .encode(y=y, x="pct:Q", color=colour, tooltip=tooltip)
    )
    layers: list[Any] = [rule, dot, levels_only_marks(y=y, x="pct:Q")]
    if national is not None:
        layers.append(_reference_line(national))
    finding = _rank_sentence(data, region, national)
    chart = alt.layer(*layers, data=data).properties(
        width=WIDTH - 160,
        height=max(120, 24 * len(order)),
        title=case_title(
            f"{region} among the twelve regions: keeping people safe",
            [
                f"{label}. {MEASURE_LABEL}, % of cases sufficient,",
                "with 95% intervals allowing for clustering in inspections. Dashed line: England "
                "and Wales.",
                LEVELS_ONLY_NOTE,
            ],
            synthetic,
        ),
    )
    alt_text = (
        f"Dot chart of the twelve regions' share of cases where {MEASURE_WORDS}, {label}, "
        f"highest first, with {region} highlighted and England and Wales as a reference line. "
        f"{finding}"
    )
    return ChartResult("region_among_twelve", chart, data, alt_text, finding)


def _reference_line(national: float) -> alt.Chart:
    """England and Wales as a dashed vertical line."""
    frame = pl.DataFrame({"national_pct": [national]})
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_rule(color=AXIS_GREY, strokeDash=[5, 3], strokeWidth=1.5)
        .encode(x="national_pct:Q")
    )
    return chart


def where_regions_stand(kq_trend: pl.DataFrame, synthetic: bool) -> ChartResult:
    """A small multiple, one panel per region: its figure and interval on keeping people safe
    in the latest programme, with England and Wales as a line in every panel."""
    use_theme()
    cells, label = latest_cells(kq_trend)
    regions, national = _split(cells)
    data = regions.with_columns(pl.lit(national).alias("national_pct"))
    x = alt.X("interval_low:Q", title=None, scale=alt.Scale(domain=[0, 100]))
    base = alt.Chart().encode(y=alt.Y("row:N", axis=None, title=None))
    layers: list[Any] = [
        base.mark_rule(color=FOCUS, strokeWidth=2).encode(x=x, x2="interval_high:Q"),
        base.mark_point(filled=True, size=70, color=FOCUS, opacity=1).encode(
            x="pct:Q", tooltip=["region", alt.Tooltip("pct:Q", format=".1f")]
        ),
        levels_only_marks(x="pct:Q", y=alt.Y("row:N", axis=None)),
        alt.Chart()
        .mark_rule(color=AXIS_GREY, strokeDash=[5, 3])
        .encode(x="national_pct:Q", y=alt.value(0), y2=alt.value(34)),
    ]
    finding = _spread_sentence(regions, national)
    chart = (
        alt.layer(*layers, data=data.with_columns(pl.lit("figure").alias("row")))
        .properties(width=170, height=34)
        .facet(facet=alt.Facet("region:N", sort=refdata.region_names(), title=None), columns=3)
        .properties(
            title=case_title(
                "Where each region stands on keeping people safe",
                [
                    f"{label}. {MEASURE_LABEL},",
                    "% of cases sufficient (0 to 100), with 95% intervals. Dashed line: England "
                    "and Wales.",
                    LEVELS_ONLY_NOTE,
                ],
                synthetic,
            )
        )
    )
    alt_text = (
        f"Twelve small charts, one per region, each showing its share of cases where "
        f"{MEASURE_WORDS}, {label}, against England and Wales. {finding}"
    )
    return ChartResult("where_regions_stand", chart, data, alt_text, finding)


def _spread_sentence(regions: pl.DataFrame, national: float | None) -> str:
    """The range of the regions' figures and how many lie clearly above or below England and
    Wales, from the plotted cells."""
    if regions.height == 0:
        return "No region has a published figure for this programme."
    top = regions.sort("pct", descending=True).row(0, named=True)
    bottom = regions.sort("pct").row(0, named=True)
    text = (
        f"Regional figures range from {bottom['pct']:.0f}% ({bottom['region']}) to "
        f"{top['pct']:.0f}% ({top['region']})"
    )
    if national is None:
        return text + "."
    above = regions.filter(pl.col("interval_low") > national).height
    below = regions.filter(pl.col("interval_high") < national).height
    return (
        f"{text}; England and Wales {national:.0f}%. {above} of {regions.height} regions lie "
        f"clearly above it and {below} clearly below (their intervals exclude it)."
    )
