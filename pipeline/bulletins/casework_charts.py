"""Charts for the research blocks beyond the 12 key questions: court work and resettlement,
prompts, management oversight, practitioners and the themes of inspectors' reasons.

Same house style and rules as `charts.py`: the data plotted is exactly what the publication table
holds for the scope (suppressed cells dropped), sentences come from `findings.py`.
"""

from __future__ import annotations

from typing import cast

import altair as alt
import polars as pl

from pipeline import refdata
from pipeline.bulletins import findings
from pipeline.bulletins.charts import (
    INTERVAL,
    ChartResult,
    _scope_colour,
    _visible,
    levels_only_marks,
)
from pipeline.bulletins.theme import (
    CONTEXT,
    FOCUS,
    WIDTH,
    case_title,
    label_lines,
    use_theme,
    wrapped_labels,
)
from pipeline.domain import NATIONAL

SINGLE = {"COURT_PSR": "Court work", "RESETTLE": "Resettlement"}
CHARACTERISTICS = {
    "practitioner_grade": "Grade (against probation officers)",
    "caseload_band": "Caseload (against under 40 cases)",
    "experience_band": "Experience (against over 5 years)",
}
LEVELS = {
    "pso": "Probation services officer",
    "pqip": "Trainee (PQiP)",
    "spo": "Senior probation officer",
    "other": "Other grade",
    "40_to_49": "40 to 49 cases",
    "50_to_59": "50 to 59 cases",
    "60_plus": "60 cases or more",
    "under_2_years": "Under 2 years",
    "2_to_5_years": "2 to 5 years",
}


def _programme_labels() -> dict[str, str]:
    programmes = refdata.programmes().unique("programme", keep="first")
    return dict(programmes.select("programme", "programme_label").iter_rows())


def programme_label(programme: str) -> str:
    """'pdu_regional_2023' -> 'Refreshed PDU and regional inspections 2023-2025'."""
    return _programme_labels().get(programme, programme)


def _dots(data: pl.DataFrame, y: str, order: list[str], colour: alt.Color) -> alt.LayerChart:
    """Dots with their 95% intervals along a 0-100 axis, one row per `y` category."""
    axis = alt.Y(f"{y}:N", sort=order, title=None, axis=wrapped_labels(order, 48))
    rule = (
        alt.Chart()
        .mark_rule(strokeWidth=2)
        .encode(
            y=axis,
            yOffset="scope:N",
            x=alt.X(
                "interval_low:Q", title="% of relevant cases", scale=alt.Scale(domain=[0, 100])
            ),
            x2="interval_high:Q",
            color=colour,
        )
    )
    dot = alt.Chart().mark_point(filled=True, size=60).encode(
        y=axis, yOffset="scope:N", x="pct:Q", color=colour,
        tooltip=[y, "scope", alt.Tooltip("pct:Q", format=".1f")],
    )  # fmt: skip
    marks = levels_only_marks(y=axis, yOffset="scope:N", x="pct:Q")
    return cast(alt.LayerChart, alt.layer(rule, dot, marks, data=data))


def court_and_resettlement(kq_trend: pl.DataFrame, region: str, synthetic: bool) -> ChartResult:
    """Court work and resettlement judged sufficient, by inspection programme."""
    use_theme()
    rows = _visible(
        kq_trend.filter(
            pl.col("comparable_id").is_in(list(SINGLE)),
            pl.col("period_type") == "programme",
            pl.col("scope").is_in([region, NATIONAL]),
            pl.col("series") == "core",
        )
    )
    data = rows.select(
        pl.col("comparable_id").replace_strict(SINGLE).alias("question"),
        "scope",
        pl.col("period").replace_strict(_programme_labels()).alias("programme"),
        "pct",
        *INTERVAL,
        "n_applicable",
    ).sort("question", "programme", "scope")
    chart = (
        _dots(data, "programme", sorted(set(data["programme"])), _scope_colour(region))
        .properties(width=WIDTH // 2, height=120)
        .facet(column=alt.Column("question:N", title=None))
        .properties(
            title=case_title(
                f"Court work and resettlement: {region}",
                "Share of relevant cases judged sufficient, by inspection programme; 95% "
                "intervals allowing for clustering in inspections.",
                synthetic,
            )
        )
    )
    finding = findings.single_question_finding(data.filter(pl.col("scope") == region), region)
    alt_text = f"Dot plot of court work and resettlement sufficiency by programme. {finding}"
    return ChartResult("court_resettlement", chart, data, alt_text, finding)


def prompts_chart(prompts: pl.DataFrame, region: str, synthetic: bool) -> ChartResult:
    """Prompts under the keeping-people-safe questions, latest programme, England and Wales
    (and the region)."""
    use_theme()
    rows = _visible(
        prompts.filter(
            pl.col("series") == "core",
            pl.col("period_type") == "programme",
            pl.col("scope").is_in([region, NATIONAL]),
        )
    )
    mine = rows.filter(pl.col("scope") == region)["period"]
    latest = str(mine.max()) if mine.len() else ""
    data = rows.filter(pl.col("period") == latest).select(
        pl.col("prompt_wording").alias("prompt"), "parent_question", "scope", "pct", *INTERVAL,
        "n_applicable",
    ).sort("parent_question", "prompt", "scope")  # fmt: skip
    order = data.unique("prompt", keep="first", maintain_order=True)["prompt"].to_list()
    chart = (
        _dots(data, "prompt", order, _scope_colour(region))
        .properties(
            width=WIDTH - 200, height=max(120, 8 * len(order) + 16 * label_lines(order, 48))
        )
        .properties(
            title=case_title(
                f"Prompts under the key questions: {region}",
                f"Share of relevant cases meeting each prompt, {programme_label(latest)}; "
                "95% intervals allowing for clustering in inspections.",
                synthetic,
            )
        )
    )
    finding = findings.prompts_finding(data.filter(pl.col("scope") == region), region)
    alt_text = f"Dot plot of the share of cases meeting each prompt. {finding}"
    return ChartResult("prompts", chart, data, alt_text, finding)


def oversight_chart(oversight: pl.DataFrame, region: str, synthetic: bool) -> ChartResult:
    """Management oversight judged sufficient, by financial year."""
    use_theme()
    data = _visible(
        oversight.filter(
            pl.col("series") == "core",
            pl.col("period_type") == "financial_year",
            pl.col("scope").is_in([region, NATIONAL]),
        )
    ).select(pl.col("period").alias("financial_year"), "scope", "pct", *INTERVAL, "n_applicable")
    data = data.sort("financial_year", "scope")
    x = alt.X("financial_year:O", title=None, axis=alt.Axis(labelAngle=-40, labelAlign="right"))
    colour = _scope_colour(region)
    rule = alt.Chart().mark_rule(strokeWidth=2, opacity=0.5).encode(
        x=x, xOffset="scope:N", color=colour,
        y=alt.Y("interval_low:Q", title="% of cases", scale=alt.Scale(domain=[0, 100])),
        y2="interval_high:Q",
    )  # fmt: skip
    dot = alt.Chart().mark_point(filled=True, size=60).encode(
        x=x, xOffset="scope:N", y="pct:Q", color=colour,
        tooltip=["financial_year", "scope", alt.Tooltip("pct:Q", format=".1f")],
    )  # fmt: skip
    marks = levels_only_marks(x=x, xOffset="scope:N", y="pct:Q")
    chart = (
        alt.layer(rule, dot, marks, data=data)
        .properties(width=WIDTH, height=220)
        .properties(
            title=case_title(
                f"Management oversight: {region}",
                "Share of cases where oversight by a manager was sufficient, by financial year; "
                "95% intervals allowing for clustering in inspections.",
                synthetic,
            )
        )
    )
    finding = findings.oversight_finding(data.filter(pl.col("scope") == region), region)
    alt_text = f"Dot plot of sufficient management oversight by financial year. {finding}"
    return ChartResult("oversight", chart, data, alt_text, finding)


def practitioner_chart(effects: pl.DataFrame, synthetic: bool) -> ChartResult:
    """Adjusted differences in keeping-people-safe sufficiency by practitioner characteristic."""
    use_theme()
    data = effects.filter(
        pl.col("theme") == "safety", pl.col("adjusted_diff_pp").is_not_null()
    ).select(
        pl.col("characteristic").replace_strict(CHARACTERISTICS).alias("characteristic"),
        pl.col("level").replace_strict(LEVELS, default=pl.col("level")).alias("level"),
        "adjusted_diff_pp", "adjusted_ci_low", "adjusted_ci_high", "significant_holm",
    )  # fmt: skip
    y = alt.Y("level:N", title=None, sort=list(LEVELS.values()))
    x = alt.X("adjusted_ci_low:Q", title="Difference in percentage points (adjusted)")
    rule = (
        alt.Chart().mark_rule(strokeWidth=2, color=FOCUS).encode(y=y, x=x, x2="adjusted_ci_high:Q")
    )
    dot = alt.Chart().mark_point(filled=True, size=60, color=FOCUS).encode(
        y=y, x="adjusted_diff_pp:Q",
        tooltip=["characteristic", "level", alt.Tooltip("adjusted_diff_pp:Q", format=".1f")],
    )  # fmt: skip
    zero = alt.Chart().mark_rule(color=CONTEXT).encode(x=alt.datum(0))
    chart = (
        alt.layer(zero, rule, dot, data=data)
        .properties(width=WIDTH - 160, height=90)
        .facet(
            row=alt.Row(
                "characteristic:N",
                title=None,
                sort=list(CHARACTERISTICS.values()),
                header=alt.Header(labelAngle=0, labelOrient="top", labelAnchor="start"),
            )
        )
        .resolve_scale(y="independent")
        .properties(
            title=case_title(
                "Keeping people safe by who holds the case",
                "Difference from the reference level allowing for case mix, key question and "
                "programme; 95% intervals clustered by inspection.",
                synthetic,
            )
        )
    )
    finding = findings.practitioner_finding(data)
    alt_text = f"Interval plot of adjusted differences by practitioner characteristic. {finding}"
    return ChartResult("practitioners", chart, data, alt_text, finding)


def rationale_themes_chart(themes: pl.DataFrame, synthetic: bool) -> ChartResult:
    """Themes in the reasons for insufficient keeping-people-safe judgements, England and
    Wales, after unification."""
    use_theme()
    data = _visible(
        themes.filter(
            pl.col("scope") == NATIONAL,
            pl.col("series") == "core",
            pl.col("question_group") == "safety",
            pl.col("judgement") == "no",
            pl.col("period_type") == "era",
            pl.col("period") == "post_unification",
        )
    ).select(pl.col("theme_label").alias("theme"), "pct", *INTERVAL, "n_applicable")
    data = data.sort("pct", descending=True)
    order = data["theme"].to_list()
    y = alt.Y("theme:N", sort=order, title=None, axis=wrapped_labels(order, 40))
    bar = alt.Chart().mark_bar(color=FOCUS).encode(
        y=y, x=alt.X("pct:Q", title="% of cases", scale=alt.Scale(domain=[0, 100])),
        tooltip=["theme", alt.Tooltip("pct:Q", format=".1f")],
    )  # fmt: skip
    rule = (
        alt.Chart().mark_rule(color="#0B0C0C").encode(y=y, x="interval_low:Q", x2="interval_high:Q")
    )
    marks = levels_only_marks(y=y, x="pct:Q")
    chart = (
        alt.layer(bar, rule, marks, data=data)
        .properties(width=WIDTH - 200, height=max(120, 24 * len(order)))
        .properties(
            title=case_title(
                "What inspectors' reasons mention when keeping people safe fell short",
                [
                    "Share of cases judged insufficient on a keeping-people-safe question "
                    "whose reasons mention each theme,",
                    "after unification; themes coded by a published dictionary; 95% intervals "
                    "allowing for clustering.",
                ],
                synthetic,
            )
        )
    )
    finding = findings.themes_finding(data)
    alt_text = f"Bar chart of themes in inspectors' reasons. {finding}"
    return ChartResult("rationale_themes", chart, data, alt_text, finding)
