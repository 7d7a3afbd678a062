"""Bulletin charts: one function per chart kind, in the house style (`theme.py`).

Every chart function takes a publication table (already aggregated and disclosure-controlled)
and returns an Altair chart whose data is exactly what is plotted; suppressed cells are dropped
before plotting, never drawn. Sentences about the data come from `findings.py`; files are
written by `export.py`.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from typing import Any, cast

import altair as alt
import numpy as np
import polars as pl

from pipeline import refdata
from pipeline.bulletins import findings
from pipeline.bulletins.theme import (
    AXIS_GREY,
    CONTEXT,
    FOCUS,
    PALETTE,
    RATING_COLOURS,
    WIDTH,
    case_title,
    title,
    use_theme,
    wrapped_labels,
)
from pipeline.domain import ERA_LABELS, NATIONAL, STANDARD_LABELS, SUBGROUP_LABELS, THEME_LABELS
from pipeline.outputs import labels

INTERVAL = (
    pl.col("ci_cluster_low").alias("interval_low"),
    pl.col("ci_cluster_high").alias("interval_high"),
    pl.col("levels_only"),
)
"""The interval charts draw (the clustered Korn-Graubard one, the wider of pooled and own) and
whether the cell is a level only: every chart that selects an interval carries the flag, and
`levels_only_marks` writes [u] beside such a point."""
LEVELS_ONLY_NOTE = "[u] a level on 2 inspections or fewer: shown without an interval."


def levels_only_marks(**encoding: Any) -> alt.Chart:
    """A layer that writes [u] beside each point that is a level only (no interval drawn), for
    charts layered over shared data; `encoding` positions it like the points (x, y, offsets)."""
    chart: alt.Chart = (
        alt.Chart()
        .transform_filter("datum.levels_only")
        .mark_text(text="[u]", align="left", dx=7, dy=-7, fontSize=10, color="#0B0C0C")
        .encode(**encoding)
    )
    return chart


@dataclass
class ChartResult:
    """A chart with the data it plots and sentences computed from that data."""

    name: str
    chart: alt.TopLevelMixin
    data: pl.DataFrame
    alt_text: str
    finding: str


def _visible(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows that may be plotted: never a suppressed cell."""
    if "suppressed" in frame.columns:
        frame = frame.filter(~pl.col("suppressed"))
    return frame.filter(pl.col("pct").is_not_null()) if "pct" in frame.columns else frame


def _interval_dots(
    data: pl.DataFrame | None,
    y: alt.Y,
    offset: alt.YOffset,
    colour: alt.Color,
    tooltip: list[Any],
    size: int,
) -> tuple[alt.Chart, alt.LayerChart]:
    """A horizontal 95% interval rule and a dot per category, the pattern of the profile and
    subgroup charts (pass `data=None` to layer them over shared data)."""
    base = alt.Chart(data) if data is not None else alt.Chart()
    ci = base.mark_rule(strokeWidth=2).encode(
        y=y,
        yOffset=offset,
        x=alt.X("interval_low:Q", title="% of cases sufficient", scale=alt.Scale(domain=[0, 100])),
        x2="interval_high:Q",
        color=colour,
    )
    dot = base.mark_point(filled=True, size=size).encode(
        y=y, yOffset=offset, x="pct:Q", color=colour, tooltip=tooltip
    )
    marks = levels_only_marks(y=y, yOffset=offset, x="pct:Q")
    layered = alt.layer(dot, marks) if data is None else alt.layer(dot, marks, data=data)
    return ci, cast(alt.LayerChart, layered)


def _scope_colour(region: str, legend: alt.Legend | None = None) -> alt.Color:
    """Focus colour for the region, grey for England and Wales."""
    scale = alt.Scale(domain=[region, NATIONAL], range=[FOCUS, CONTEXT])
    if legend is None:
        return alt.Color("scope:N", scale=scale)
    return alt.Color("scope:N", scale=scale, legend=legend)


def _unification_x() -> float:
    """The unification date as a fractional year, for a rule on a year axis."""
    unified = refdata.unification_date()
    return unified.year + (unified.timetuple().tm_yday - 1) / 365


# --- 1. safety sufficiency over time ----------------------------------------------------------


def _measure(comparable_id: str, label: str) -> str:
    """What a trend sentence says was judged sufficient, in words."""
    if comparable_id == "IMPL_SAFE":
        return "on keeping other people safe in implementation and delivery"
    return f"on the question '{label}'"


def _calendar_years(
    kq_trend: pl.DataFrame, comparable_id: str, years: tuple[int, int] | None
) -> pl.DataFrame:
    """Visible calendar-year cells of one key question, with the year as a number."""
    rows = _visible(
        kq_trend.filter(
            pl.col("comparable_id") == comparable_id, pl.col("period_type") == "calendar_year"
        )
    ).with_columns(pl.col("period").cast(pl.Int32).alias("year"))
    return rows.filter(pl.col("year").is_between(*years)) if years else rows


def _question_label(comparable_id: str) -> str:
    text = refdata.key_questions().filter(pl.col("comparable_id") == comparable_id)
    return str(text["question_text"][0]).split("?")[0] + "?"


def _comparison_row(
    unification: pl.DataFrame | None, scope: str, comparable_id: str
) -> dict[str, Any] | None:
    """The published before/after row a chart's title may rely on (None if there is none)."""
    if unification is None:
        return None
    rows = unification.filter(
        pl.col("scope") == scope, pl.col("comparable_id") == comparable_id, ~pl.col("suppressed")
    )
    return rows.row(0, named=True) if rows.height else None


def _unification_marker() -> tuple[alt.Chart, alt.Chart]:
    rule_data = pl.DataFrame(
        {"year": [_unification_x()], "label": ["Unification (June 2021)"], "y": [100]}
    )
    rule = alt.Chart(rule_data).mark_rule(color=AXIS_GREY, strokeDash=[4, 3]).encode(x="year:Q")
    text = (
        alt.Chart(rule_data)
        .mark_text(align="left", dx=4, baseline="top", color=AXIS_GREY, fontSize=11)
        .encode(x="year:Q", y="y:Q", text="label")
    )
    return rule, text


TREND_NOTE = (
    "Shaded band: 95% interval allowing for clustering in inspections. " + LEVELS_ONLY_NOTE,
    "Lines break at unification and at missing years. Diamonds: dynamic inspection of public "
    "protection.",
)


def _segment() -> pl.Expr:
    """Which unbroken run of years a point belongs to: a line never joins two years with a gap
    between them, nor the last year before unification to the first after (the year of
    unification counts as before, where its marker puts it)."""
    year = pl.col("year")
    before = refdata.unification_date().year
    gap = (year - year.shift(1) > 1) | ((year.shift(1) <= before) & (year > before))
    return gap.fill_null(False).cum_sum().cast(pl.Int64).alias("segment")


def safety_trend(
    kq_trend: pl.DataFrame,
    region: str,
    comparable_id: str = "IMPL_SAFE",
    synthetic: bool = True,
    years: tuple[int, int] | None = None,
    unification: pl.DataFrame | None = None,
) -> ChartResult:
    """Safety sufficiency by calendar year with its 95% interval, the region against England and
    Wales; unification marked. The dynamic inspection (2025-26) appears as separate points."""
    use_theme()
    rows = _calendar_years(kq_trend, comparable_id, years)
    data = (
        rows.filter(pl.col("scope").is_in([region, NATIONAL]))
        .select("scope", "series", "year", "pct", *INTERVAL, "n_applicable")
        .sort("series", "scope", "year")
        .with_columns(_segment().over("series", "scope"))
    )
    label = _question_label(comparable_id)
    colour = _scope_colour(region, alt.Legend(title=None, symbolOpacity=1, symbolType="circle"))
    x = alt.X(
        "year:Q",
        title=None,
        scale=alt.Scale(zero=False, nice=False, padding=12),
        axis=alt.Axis(format="d", tickMinStep=1),
    )
    base = alt.Chart(data.filter(pl.col("series") == "core")).encode(x=x, color=colour)
    band = base.mark_area(opacity=0.18).encode(
        y=alt.Y("interval_low:Q"), y2="interval_high:Q", detail="segment:N"
    )
    line = base.mark_line(point=True).encode(
        y=alt.Y("pct:Q", title="% of cases sufficient", scale=alt.Scale(domain=[0, 100])),
        detail="segment:N",
        tooltip=["scope", "year", alt.Tooltip("pct:Q", format=".1f"), "n_applicable"],
    )
    marks = levels_only_marks(x="year:Q", y="pct:Q")
    marks.data = data.filter(pl.col("series") == "core")
    dipp = (
        alt.Chart(data.filter(pl.col("series") == "dipp"))
        .mark_point(shape="diamond", size=110, filled=False, strokeWidth=2)
        .encode(x="year:Q", y="pct:Q", color=colour)
    )
    comparison = _comparison_row(unification, region, comparable_id)
    finding, heading = findings.trend_finding(
        data.filter(pl.col("series") == "core"), region, comparison, _measure(comparable_id, label)
    )
    rule, rule_text = _unification_marker()
    chart = (band + line + marks + dipp + rule + rule_text).properties(
        width=WIDTH,
        height=300,
        title=case_title(heading, [label, *TREND_NOTE], synthetic),
    )
    areas = region if region == NATIONAL else f"{region} and England and Wales"
    alt_text = (
        "Line chart of the share of cases judged sufficient on keeping other people safe in "
        f"implementation and delivery, by year, for {areas}. {finding}"
    )
    return ChartResult("safety_trend", chart, data, alt_text, finding)


def _against(region: str) -> str:
    """'Wales against England and Wales', or just 'England and Wales' for the nation."""
    return region if region == NATIONAL else f"{region} against England and Wales"


# --- 2. pre vs post unification ----------------------------------------------------------------


COMPARISON_COLUMNS = (
    "pct_pre",
    "pct_pre_weighted",  # what the changes are measured from
    "pct_post",
    "diff_clustered_pp",
    "diff_clustered_ci_low",
    "diff_clustered_ci_high",
    "adjusted_diff_pp",
    "adjusted_ci_low",
    "adjusted_ci_high",
    "adjusted_diff_unweighted_pp",
    "significant_holm",
    "n_applicable_pre",
    "n_applicable_post",
)
"""What a before/after chart shows of a comparison row (levels, differences, counts)."""


def _unification_rows(unification: pl.DataFrame, scope: str) -> pl.DataFrame:
    """The scope's visible pre/post cells with a readable question label."""
    return (
        unification.filter(pl.col("scope") == scope, ~pl.col("suppressed"))
        .select("comparable_id", "standard", "theme", *COMPARISON_COLUMNS)
        .with_columns(
            pl.format(
                "{}: {}",
                pl.col("standard").cast(pl.String).replace_strict(STANDARD_LABELS),
                pl.col("theme").cast(pl.String),
            ).alias("question"),
        )
        .sort("theme", "standard")
    )


ERA_SIDES = ("Before unification", "After unification")
SAME_AREA_SIDES = ("Last CRC and NPS round", "First unified inspections")


def _dumbbell(
    data: pl.DataFrame,
    order: list[str],
    sides: tuple[str, str] = ERA_SIDES,
    measure: str = "% of cases sufficient",
) -> alt.LayerChart:
    """Left panel: each question's level before (grey) and after (blue) unification."""
    long = data.unpivot(
        index=["question"], on=["pct_pre", "pct_post"], variable_name="era", value_name="pct"
    ).with_columns(pl.col("era").replace_strict({"pct_pre": sides[0], "pct_post": sides[1]}))
    y = alt.Y("question:N", sort=order, title=None, axis=wrapped_labels(order, 40))
    lines = (
        alt.Chart(data)
        .mark_rule(color=CONTEXT, strokeWidth=3)
        .encode(
            y=y,
            x=alt.X("pct_pre:Q", title=measure, scale=alt.Scale(domain=[0, 100])),
            x2="pct_post:Q",
        )
    )
    era_colour = alt.Color(
        "era:N",
        scale=alt.Scale(domain=list(sides), range=[CONTEXT, FOCUS]),
    )
    dots = (
        alt.Chart(long)
        .mark_point(filled=True, size=90, opacity=1)
        .encode(
            y=y,
            x="pct:Q",
            color=era_colour,
            tooltip=["question", "era", alt.Tooltip("pct:Q", format=".1f")],
        )
    )
    layered: alt.LayerChart = (lines + dots).properties(width=300, height=22 * len(order))
    return layered


def _differences_long(data: pl.DataFrame) -> pl.DataFrame:
    """Raw and adjusted differences with their intervals, one row per question x measure."""
    intervals = data.select(
        "question",
        pl.col("diff_clustered_ci_low").alias("l_raw"),
        pl.col("diff_clustered_ci_high").alias("h_raw"),
        pl.col("adjusted_ci_low").alias("l_adj"),
        pl.col("adjusted_ci_high").alias("h_adj"),
    )
    raw = pl.col("measure") == "diff_clustered_pp"
    return (
        data.unpivot(
            index=["question"],
            on=["diff_clustered_pp", "adjusted_diff_pp"],
            variable_name="measure",
            value_name="difference",
        )
        .join(intervals, on="question")
        .with_columns(
            pl.when(raw).then(pl.col("l_raw")).otherwise(pl.col("l_adj")).alias("low"),
            pl.when(raw).then(pl.col("h_raw")).otherwise(pl.col("h_adj")).alias("high"),
            pl.col("measure").replace_strict(
                {
                    "diff_clustered_pp": "Not adjusted for case mix",
                    "adjusted_diff_pp": "Adjusted for case mix",
                }
            ),
        )
        .select("question", "measure", "difference", "low", "high")
        .drop_nulls("difference")
    )


def _differences_panel(data: pl.DataFrame, order: list[str]) -> alt.LayerChart:
    """Right panel: raw and case-mix-adjusted change with their intervals, and zero."""
    diffs = _differences_long(data)
    offset = alt.YOffset("measure:N", sort=["Not adjusted for case mix", "Adjusted for case mix"])
    colour = alt.Color(
        "measure:N",
        scale=alt.Scale(
            domain=["Not adjusted for case mix", "Adjusted for case mix"],
            range=[PALETTE[0], PALETTE[3]],
        ),
    )
    bars = (
        alt.Chart(diffs)
        .mark_rule(strokeWidth=2)
        .encode(
            y=alt.Y("question:N", sort=order, title=None, axis=alt.Axis(labels=False)),
            yOffset=offset,
            x=alt.X("low:Q", title="Change in percentage points"),
            x2="high:Q",
            color=colour,
        )
    )
    points = (
        alt.Chart(diffs)
        .mark_point(filled=True, size=60)
        .encode(
            y=alt.Y("question:N", sort=order),
            yOffset=offset,
            x="difference:Q",
            color=colour,
            tooltip=["question", "measure", alt.Tooltip("difference:Q", format=".1f")],
        )
    )
    zero = alt.Chart(pl.DataFrame({"x": [0]})).mark_rule(color=AXIS_GREY).encode(x="x:Q")
    layered: alt.LayerChart = (bars + points + zero).properties(width=220, height=22 * len(order))
    return layered


def unification_dumbbell(
    unification: pl.DataFrame, scope: str, synthetic: bool = True
) -> ChartResult:
    """Each key question before and after unification (dumbbell), with the raw and
    case-mix-adjusted differences and their intervals."""
    use_theme()
    data = _unification_rows(unification, scope)
    order = data["question"].to_list()
    finding = findings.unification_finding(data, scope)
    chart = (
        alt.hconcat(_dumbbell(data, order), _differences_panel(data, order), spacing=12)
        .resolve_scale(color="independent")
        .properties(
            title=case_title(
                f"Sufficiency before and after unification: {scope}",
                "Dots: share of cases sufficient. Right: change (after minus before) with 95% "
                "intervals allowing for clustering, with and without adjustment for case mix.",
                synthetic,
            )
        )
    )
    alt_text = (
        "Dot plot of the 12 key questions before and after unification, with a panel of "
        f"differences with and without adjustment for case mix. {finding}"
    )
    return ChartResult("unification", chart, data, alt_text, finding)


def same_area_chart(
    table: pl.DataFrame, scope: str, synthetic: bool = True, needs: bool = False
) -> ChartResult:
    """The same-area comparison (key questions, or needs met): each area's last CRC and NPS
    round against its first inspections as a unified service, levels and differences. Where
    the comparison is withheld (too few inspections on a side) only the levels are drawn."""
    use_theme()
    visible = table.filter(pl.col("scope") == scope, ~pl.col("suppressed"))
    data = visible.select(
        "comparable_id", _comparison_label(needs).alias("question"), *COMPARISON_COLUMNS
    ).sort("question")
    order = data["question"].to_list()
    what = "kinds of need" if needs else "key questions"
    finding = findings.same_area_finding(data, scope, what)
    measure = "% of people with the need whose need was met" if needs else "% of cases sufficient"
    compared = bool(data["diff_clustered_pp"].is_not_null().any())
    levels = _dumbbell(data, order, SAME_AREA_SIDES, measure)
    chart = (
        alt.hconcat(levels, _differences_panel(data, order), spacing=12).resolve_scale(
            color="independent"
        )
        if compared
        else alt.hconcat(levels)
    )
    right = (
        "Right: change against the round weighted to CRC and NPS caseload shares, with 95% "
        "intervals allowing for clustering, with and without adjustment for case mix."
        if compared
        else "No change is shown: too few inspections on one side to compare."
    )
    description = textwrap.wrap(  # one long line would widen the SVG and shrink the chart
        "Dots: the areas' last CRC and NPS inspections (grey) and the first inspection of "
        f"each PDU since unification (blue). {right}",
        110,
    )
    chart = chart.properties(
        title=case_title(
            f"Same areas, {'needs met' if needs else 'key questions'}: {scope}",
            description,
            synthetic,
        )
    )
    panel = "with a panel of differences" if compared else "levels only"
    alt_text = (
        f"Dot plot of {len(order)} {what} in the same areas before and after unification, "
        f"{panel}. {finding}"
    )
    name = "same_area_needs" if needs else "same_area"
    return ChartResult(name, chart, data.rename(SAME_AREA_COLUMNS), alt_text, finding)


SAME_AREA_COLUMNS = {
    "pct_pre": "pct_last_crc_nps",
    "pct_pre_weighted": "pct_last_crc_nps_weighted",
    "pct_post": "pct_first_unified",
    "n_applicable_pre": "n_applicable_last_crc_nps",
    "n_applicable_post": "n_applicable_first_unified",
}
"""The same-area chart's data names its sides for what they are (a reader's table would
otherwise say 'before' and 'after unification' of every inspection)."""


def _comparison_label(needs: bool) -> pl.Expr:
    """A comparison row's reader label: the need's, or the key question's standard and theme
    (as the before-and-after chart labels them)."""
    if needs:  # the kind of need ('Accommodation'): the section says it is the share met
        areas = {
            f"NEED_{n.upper()}": label
            for n, label in refdata.needs().select("need", "label").iter_rows()
        }
        return pl.col("comparable_id").replace(areas)
    return pl.format(
        "{}: {}",
        pl.col("standard").cast(pl.String).replace_strict(STANDARD_LABELS),
        pl.col("theme").cast(pl.String),
    )


# --- 3. key-question profile -------------------------------------------------------------------


def _profile_programme(rows: pl.DataFrame, region: str, programme: str | None) -> str:
    """The latest PDU/regional programme the region has cells in (unless one is given): the
    national inspection and the dynamic inspection hold too few cases per region for a
    profile."""
    if programme is not None:
        return programme
    have = set(rows.filter(pl.col("scope") == region)["period"])
    order = [p for p in ("pdu_2021", "pdu_regional_2023") if p in have]
    return order[-1] if order else "pdu_regional_2023"


def kq_profile(
    kq_trend: pl.DataFrame, region: str, programme: str | None = None, synthetic: bool = True
) -> ChartResult:
    """The region's key-question profile (standards x themes) against England and Wales, for
    the latest core programme it has data in (or `programme`)."""
    use_theme()
    rows = _visible(
        kq_trend.filter(
            pl.col("series") == "core",
            pl.col("period_type") == "programme",
            pl.col("scope").is_in([region, NATIONAL]),
        )
    )
    programme = _profile_programme(rows, region, programme)
    label = refdata.programmes().filter(pl.col("programme") == programme)["programme_label"]
    label_text = str(label[0]) if label.len() else programme
    data = _profile_data(rows.filter(pl.col("period") == programme))
    heading = f"Key-question profile: {_against(region)}"
    return _profile_chart("kq_profile", data, region, heading, label_text, synthetic)


def cohort_profile(
    kq_cohort: pl.DataFrame, region: str, cohort: str, synthetic: bool = True
) -> ChartResult:
    """The key-question profile of one cohort of inspections (e.g. reports published
    February 2022 to August 2023), the region against England and Wales."""
    use_theme()
    rows = _visible(
        kq_cohort.filter(
            pl.col("series") == "core",
            pl.col("cohort") == cohort,
            pl.col("scope").is_in([region, NATIONAL]),
        )
    )
    label = str(rows["cohort_label"][0]) if rows.height else cohort
    heading = f"Cohort profile: {_against(region)}"
    return _profile_chart("cohort_profile", _profile_data(rows), region, heading, label, synthetic)


def _profile_data(rows: pl.DataFrame) -> pl.DataFrame:
    """The 12 key questions (standards x themes); court work and resettlement, single-question
    standards with no theme, have a section of their own."""
    return (
        rows.filter(pl.col("theme").is_not_null())
        .select("scope", "standard", "theme", "pct", *INTERVAL, "n_applicable")
        .with_columns(
            pl.col("standard").cast(pl.String).replace_strict(STANDARD_LABELS).alias("standard"),
            pl.col("theme").cast(pl.String).replace_strict(THEME_LABELS).alias("theme"),
        )
        .sort("theme", "standard", "scope")
    )


def _profile_chart(
    name: str, data: pl.DataFrame, region: str, heading: str, label: str, synthetic: bool
) -> ChartResult:
    """Dots with clustered intervals per standard, one panel per theme."""
    ci, dot = _interval_dots(
        None,
        alt.Y("standard:N", sort=list(STANDARD_LABELS.values()), title=None),
        alt.YOffset("scope:N", sort=[region, NATIONAL]),
        _scope_colour(region),
        ["scope", "standard", "theme", alt.Tooltip("pct:Q", format=".1f")],
        size=70,
    )
    finding = findings.profile_finding(data.filter(pl.col("scope") == region), region, label)
    chart = (
        alt.layer(ci, dot, data=data)
        .properties(width=230, height=150)
        .facet(column=alt.Column("theme:N", sort=list(THEME_LABELS.values()), title=None))
        .properties(
            title=case_title(
                heading,
                f"{label}; 95% intervals allowing for clustering in inspections.",
                synthetic,
            )
        )
    )
    alt_text = (
        "Dot plot of sufficiency for each standard and theme, the region against "
        f"England and Wales. {finding}"
    )
    return ChartResult(name, chart, data, alt_text, finding)


ANNEXE_ONE_KEYS = [
    f"{s}_{t}"
    for s in ("assessment", "planning", "implementation", "reviewing")
    for t in ("engagement", "desistance", "safety")
]


def annexe_one_profile(published: pl.DataFrame) -> ChartResult:
    """The April 2025 national inspection's published key-question percentages (Annexe One):
    real published figures, drawn beside nothing synthetic."""
    use_theme()
    rows = published.filter(
        pl.col("level").cast(pl.String) == "national",
        pl.col("key_question").is_in(ANNEXE_ONE_KEYS),
        pl.col("value_pct").is_not_null(),
        pl.col("wording").is_not_null(),
    )
    data = (
        rows.select(
            pl.col("key_question").str.extract(r"^([a-z]+)_").alias("standard"),
            pl.col("key_question").str.extract(r"_([a-z]+)$").alias("theme"),
            pl.col("value_pct").alias("pct"),
            "wording",
            "source_url",
        )
        .with_columns(
            pl.col("standard").replace_strict(STANDARD_LABELS),
            pl.col("theme").replace_strict(THEME_LABELS),
        )
        .unique(["standard", "theme"], keep="first")
        .sort("theme", "standard")
    )
    chart = (
        alt.Chart(data)
        .mark_bar(color=FOCUS)
        .encode(
            x=alt.X(
                "pct:Q", title="% of cases judged sufficient", scale=alt.Scale(domain=[0, 100])
            ),
            y=alt.Y("standard:N", sort=list(STANDARD_LABELS.values()), title=None),
            tooltip=["standard", "theme", "pct", "wording"],
        )
        .properties(width=170, height=130)
        .facet(column=alt.Column("theme:N", sort=list(THEME_LABELS.values()), title=None))
    )
    finding = findings.annexe_one_finding(data)
    heading = (
        "The national inspection found keeping people safe the weakest"
        if "less often than" in finding
        else "Key questions in the April 2025 national inspection"
    )
    subtitle = [
        "Percentage 'Yes' for each key question, 165 cases inspected December 2024 to "
        "February 2025. Real published figures.",
        "Source: HM Inspectorate of Probation, National Inspection, April 2025, Annexe One.",
    ]
    chart = chart.properties(title=title(heading, subtitle))
    alt_text = (
        "Bar charts of the percentage of cases judged sufficient on each of the twelve key "
        f"questions in the April 2025 national inspection, by theme. {finding}"
    )
    return ChartResult("annexe_one", chart, data, alt_text, finding)


# --- 4. subgroups ------------------------------------------------------------------------------


def subgroup_chart(
    subgroups: pl.DataFrame,
    variable: str = "rosh",
    theme_name: str = "safety",
    era: str = "post_unification",
    synthetic: bool = True,
) -> ChartResult:
    """Sufficiency by a case characteristic (default risk of serious harm) for one theme's key
    questions, England and Wales, with 95% intervals."""
    use_theme()
    rows = _visible(
        subgroups.filter(
            pl.col("series") == "core",
            pl.col("subgroup") == variable,
            pl.col("theme") == theme_name,
            pl.col("era") == era,
        )
    )
    code_labels = labels.labels_for(variable)
    values = [code_labels.get(v, v) for v in refdata.codes().get(variable, [])]
    data = rows.select(
        pl.col("standard").cast(pl.String).replace_strict(STANDARD_LABELS).alias("standard"),
        pl.col("subgroup_value").cast(pl.String).replace(code_labels).alias(variable),
        "pct",
        *INTERVAL,
        "n_applicable",
    )
    # in the code list's order (low, medium, high, very high), never alphabetical
    rank = {value: i for i, value in enumerate(values)}
    data = data.sort(
        "standard", pl.col(variable).replace_strict(rank, default=len(rank), return_dtype=pl.Int64)
    )
    ci, dot = _interval_dots(
        data,
        alt.Y("standard:N", sort=list(STANDARD_LABELS.values()), title=None),
        alt.YOffset(f"{variable}:N", sort=values),
        alt.Color(f"{variable}:N", sort=values, scale=alt.Scale(range=PALETTE)),
        ["standard", variable, alt.Tooltip("pct:Q", format=".1f"), "n_applicable"],
        size=60,
    )
    name = SUBGROUP_LABELS.get(variable, variable)
    finding = findings.subgroup_finding(data, variable)
    chart = (ci + dot).properties(
        width=WIDTH,
        height=240,
        title=case_title(
            f"{THEME_LABELS[theme_name]}: sufficiency by {name}",
            f"England and Wales, {ERA_LABELS[era].lower()}; 95% intervals allowing for "
            "clustering in inspections.",
            synthetic,
        ),
    )
    alt_text = f"Dot plot of sufficiency by {name} for each standard. {finding}"
    return ChartResult(f"subgroup_{variable}", chart, data, alt_text, finding)


# --- 5. published ratings (real data) ----------------------------------------------------------

RATING_TYPES = {"crc": "CRC", "nps": "NPS division", "pdu": "PDU", "regional": "Region"}


def _ratings_data(published_ratings: pl.DataFrame) -> pl.DataFrame:
    return (
        published_ratings.filter(
            pl.col("grouping") == "publication_year",
            pl.col("group") != "unknown",
            pl.col("inspection_type").is_in(list(RATING_TYPES)),
        )
        .select(
            pl.col("inspection_type").replace_strict(RATING_TYPES).alias("inspection_type"),
            pl.col("group").alias("year"),
            pl.col("rating").cast(pl.String),
            "n_inspections",
            "n_rated",
            "share_pct",
        )
        .sort("inspection_type", "year", "rating")
    )


def published_ratings_chart(published_ratings: pl.DataFrame) -> ChartResult:
    """Inspections by overall rating and publication year, by inspection type: real published
    figures. Bars count inspections (a 100% bar hid that a year held two)."""
    use_theme()
    data = _ratings_data(published_ratings)
    order = list(RATING_COLOURS)
    chart = (
        alt.Chart(data)
        .mark_bar(stroke="white", strokeWidth=0.75)
        .encode(
            x=alt.X("year:O", title=None, axis=alt.Axis(labelAngle=-40, labelAlign="right")),
            y=alt.Y(
                "n_inspections:Q",
                title="Inspections (number)",
                stack="zero",
                axis=alt.Axis(format="d", tickMinStep=1),
            ),
            color=alt.Color(
                "rating:N",
                sort=order,
                scale=alt.Scale(domain=order, range=list(RATING_COLOURS.values())),
            ),
            order=alt.Order("rating_order:Q"),
            tooltip=["inspection_type", "year", "rating", "n_inspections", "n_rated"],
        )
        .transform_calculate(rating_order=f"indexof({json.dumps(order)}, datum.rating)")
        .properties(width=170, height=220)
        .facet(column=alt.Column("inspection_type:N", sort=list(RATING_TYPES.values()), title=None))
        .resolve_scale(y="independent")
    )
    finding, almost_all = findings.ratings_finding(data)
    heading = (
        "Since unification almost every PDU and region has been rated Requires improvement "
        "or Inadequate"
        if almost_all
        else "Published overall ratings by year"
    )
    subtitle = [
        "Number of inspections by overall rating and year the report was published (each "
        "inspection type on its own scale). Real published figures.",
        "Source: HM Inspectorate of Probation inspection reports, press releases and "
        "annual reports.",
    ]
    chart = chart.properties(title=title(heading, subtitle))
    alt_text = (
        "Stacked bar charts of published overall ratings by year for CRC, NPS, PDU and "
        f"regional inspections. {finding}"
    )
    return ChartResult("published_ratings", chart, data, alt_text, finding)


# --- 6. enquiries ------------------------------------------------------------------------------

ENQUIRY_LABELS = {
    "da_enquiry": "Domestic abuse enquiry (police)",
    "cs_enquiry": "Child safeguarding enquiry (children's services)",
}


def _enquiry_rows(enquiries: pl.DataFrame, region: str) -> pl.DataFrame:
    return (
        _visible(
            enquiries.filter(
                pl.col("series") == "core",
                pl.col("period_type") == "financial_year",
                pl.col("scope").is_in([region, NATIONAL]),
            )
        )
        .select(
            pl.col("measure").replace_strict(ENQUIRY_LABELS).alias("measure"),
            "scope",
            pl.col("period").alias("financial_year"),
            "pct",
            *INTERVAL,
            "n_applicable",
        )
        .sort("measure", "scope", "financial_year")
    )


def enquiries_chart(enquiries: pl.DataFrame, region: str, synthetic: bool = True) -> ChartResult:
    """Domestic abuse and child safeguarding enquiries made where relevant, by financial year,
    the region against England and Wales."""
    use_theme()
    data = _enquiry_rows(enquiries, region)
    colour = _scope_colour(region)
    x = alt.X("financial_year:O", title=None, axis=alt.Axis(labelAngle=-40, labelAlign="right"))
    band = (
        alt.Chart()
        .mark_rule(strokeWidth=2, opacity=0.5)
        .encode(
            x=x,
            y=alt.Y(
                "interval_low:Q", title="% of relevant cases", scale=alt.Scale(domain=[0, 100])
            ),
            y2="interval_high:Q",
            color=colour,
            xOffset="scope:N",
        )
    )
    dot = (
        alt.Chart()
        .mark_point(filled=True, size=60)
        .encode(
            x=x,
            y="pct:Q",
            color=colour,
            xOffset="scope:N",
            tooltip=["measure", "scope", "financial_year", alt.Tooltip("pct:Q", format=".1f")],
        )
    )
    finding = findings.enquiries_finding(data.filter(pl.col("scope") == region), region)
    chart = (
        alt.layer(band, dot, data=data)
        .properties(width=WIDTH // 2 + 20, height=220)
        .facet(column=alt.Column("measure:N", title=None))
        .properties(
            title=case_title(
                f"Safeguarding enquiries made where they were needed: {region}",
                "Share of cases with a flagged concern where the enquiry was made, by "
                "financial year; 95% intervals allowing for clustering in inspections.",
                synthetic,
            )
        )
    )
    alt_text = (
        "Dot chart of domestic abuse and child safeguarding enquiry rates by financial "
        f"year for the region and England and Wales. {finding}"
    )
    return ChartResult("enquiries", chart, data, alt_text, finding)


# --- 7. regional small multiples (national overview) ---------------------------------------


def _small_multiples_data(
    kq_trend: pl.DataFrame, comparable_id: str, years: tuple[int, int] | None
) -> pl.DataFrame:
    """Each region's yearly cells beside the England and Wales figure for the same year."""
    rows = _calendar_years(kq_trend.filter(pl.col("series") == "core"), comparable_id, years)
    national = rows.filter(pl.col("scope") == NATIONAL).select("year", "pct")
    regional = rows.filter(pl.col("scope").is_in(refdata.region_names())).select(
        pl.col("scope").alias("region"), "year", "pct", *INTERVAL, "n_applicable"
    )
    joined = regional.join(national.rename({"pct": "national_pct"}), on="year", how="left")
    return joined.sort("region", "year").with_columns(_segment().over("region"))


def regional_small_multiples(
    kq_trend: pl.DataFrame,
    comparable_id: str = "IMPL_SAFE",
    synthetic: bool = True,
    years: tuple[int, int] | None = None,
) -> ChartResult:
    """The headline safety series for each of the 12 regions, England and Wales in grey in
    every panel."""
    use_theme()
    data = _small_multiples_data(kq_trend, comparable_id, years)
    x = alt.X(
        "year:Q",
        title=None,
        axis=alt.Axis(format="d", tickMinStep=2, labelAngle=0),
        scale=alt.Scale(zero=False, nice=False),
    )
    base = alt.Chart().encode(x=x)
    nat_line = base.mark_line(color=CONTEXT, strokeWidth=2).encode(
        y="national_pct:Q", detail="segment:N"
    )
    band = base.mark_area(color=FOCUS, opacity=0.15).encode(
        y="interval_low:Q", y2="interval_high:Q", detail="segment:N"
    )
    line = base.mark_line(color=FOCUS, point=alt.OverlayMarkDef(color=FOCUS, size=25)).encode(
        y=alt.Y("pct:Q", title="% sufficient", scale=alt.Scale(domain=[0, 100])),
        detail="segment:N",
        tooltip=["region", "year", alt.Tooltip("pct:Q", format=".1f")],
    )
    rule = (
        alt.Chart()
        .mark_rule(color=AXIS_GREY, strokeDash=[3, 3])
        .encode(x=alt.datum(_unification_x()))
    )
    finding = findings.small_multiples_finding(data)
    marks = levels_only_marks(x=x, y="pct:Q")
    chart = (
        alt.layer(band, nat_line, line, marks, rule, data=data)
        .properties(width=150, height=110)
        .facet(facet=alt.Facet("region:N", sort=refdata.region_names(), title=None), columns=4)
        .properties(
            title=case_title(
                "Work to keep people safe, by region",
                "Implementation and delivery supporting the safety of other people, % of cases "
                "sufficient by year. Blue: region with 95% interval; grey: England and Wales. "
                + LEVELS_ONLY_NOTE,
                synthetic,
            )
        )
    )
    alt_text = (
        "Twelve small line charts, one per region, of the share of cases where "
        f"implementation and delivery supported the safety of others, by year. {finding}"
    )
    return ChartResult("regional_small_multiples", chart, data, alt_text, finding)


# --- 8. funnel plot (national overview) ------------------------------------------------------


def _funnel_limits(units: pl.DataFrame) -> pl.DataFrame:
    """The 95% and 99.8% limit curves over the range of unit sizes (from the table's target and
    between-unit variance), long form for plotting."""
    target = float(units["target_pct"][0]) / 100
    tau2 = float(units["between_unit_variance_pp2"][0]) / 1e4
    sizes = units["n_applicable"].to_numpy().astype(float)
    n = np.linspace(sizes.min(), sizes.max(), 60)
    spread = np.sqrt(target * (1 - target) / n + tau2)
    frames = []
    for label, z in (("95% limits", 1.959964), ("99.8% limits", 3.090232)):
        for side, sign in (("lower", -1), ("upper", 1)):
            frames.append(
                pl.DataFrame(
                    {
                        "n_applicable": n,
                        "limit_pct": 100 * np.clip(target + sign * z * spread, 0, 1),
                        "limit": label,
                        "curve": f"{label} {side}",
                    }
                )
            )
    return pl.concat(frames)


def _funnel_layers(
    curves: pl.DataFrame, data: pl.DataFrame
) -> tuple[alt.Chart, alt.Chart, alt.Chart]:
    """Limit curves, the England and Wales line and the units."""
    limits = (
        alt.Chart(curves)
        .mark_line(strokeDash=[4, 3], strokeWidth=1.5)
        .encode(
            x=alt.X("n_applicable:Q", title="Cases (applicable answers)"),
            y=alt.Y("limit_pct:Q", title="% of cases sufficient", scale=alt.Scale(domain=[0, 100])),
            detail="curve:N",
            color=alt.Color(
                "limit:N",
                scale=alt.Scale(
                    domain=["95% limits", "99.8% limits"], range=[AXIS_GREY, "#0B0C0C"]
                ),
            ),
        )
    )
    target = alt.Chart(data.head(1)).mark_rule(color=CONTEXT).encode(y="target_pct:Q")
    dots = (
        alt.Chart(data)
        .mark_point(filled=True, size=45, color=FOCUS, opacity=0.8)
        .encode(
            x="n_applicable:Q",
            y="pct:Q",
            tooltip=[
                "unit_name",
                "region",
                "n_applicable",
                alt.Tooltip("pct:Q", format=".1f"),
                "position",
            ],
        )
    )
    return limits, target, dots


def funnel_chart(
    funnel: pl.DataFrame,
    comparable_id: str = "IMPL_SAFE",
    programme: str = "pdu_regional_2023",
    level: str = "inspection",
    synthetic: bool = True,
) -> ChartResult:
    """Each inspection's sufficiency against England and Wales by its number of cases, with
    limits allowing for over-dispersion (Spiegelhalter 2005)."""
    use_theme()
    units = funnel.filter(
        pl.col("comparable_id") == comparable_id,
        pl.col("programme") == programme,
        pl.col("level") == level,
    )
    data = units.select("unit_name", "region", "n_applicable", "pct", "target_pct", "position")
    if units.height == 0:
        finding = "No published cells."
        curves = pl.DataFrame(
            schema={
                "n_applicable": pl.Float64,
                "limit_pct": pl.Float64,
                "limit": pl.String,
                "curve": pl.String,
            }
        )
    else:
        curves = _funnel_limits(units)
        finding = findings.funnel_finding(data, level)
    limits, target, dots = _funnel_layers(curves, data)
    label = refdata.programmes().filter(pl.col("programme") == programme)["programme_label"]
    chart = (limits + target + dots).properties(
        width=WIDTH,
        height=300,
        title=case_title(
            "Inspections against England and Wales: work to keep people safe",
            f"{label[0] if label.len() else programme}. Grey line: England and Wales. Dashed: "
            "the limits within which 95% and 99.8% of inspections would fall",
            synthetic,
        ),
    )
    alt_text = (
        "Funnel plot of each inspection's share of cases where implementation and delivery "
        f"supported the safety of others, against its number of cases. {finding}"
    )
    return ChartResult("funnel", chart, data, alt_text, finding)
