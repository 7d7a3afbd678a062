"""The regional bulletin's bridge: its latest core inspections beside its dynamic inspection of
public protection, on the four keeping-people-safe key questions (release table `dipp_bridge`).

Levels only, each with its interval where the table gives one: the two are not directly
comparable (different scope, wording and sample design, adjusted-set cases left out, months
apart), so no difference is tested and the words say neither is higher or lower; the caveat is
printed under the chart and in the finding.
"""

from __future__ import annotations

import textwrap

import altair as alt
import polars as pl

from pipeline.bulletins.charts import INTERVAL, ChartResult, _visible, levels_only_marks
from pipeline.bulletins.theme import CONTEXT, FOCUS, WIDTH, case_title, use_theme

SIDES = {"core_round": "Latest core inspections before", "dipp": "Dynamic inspection"}
QUESTIONS = {
    "assessment_safety": "Assessment",
    "planning_safety": "Planning",
    "implementation_safety": "Implementation and delivery",
    "reviewing_safety": "Reviewing",
}


def bridge_chart(bridge: pl.DataFrame, region: str, synthetic: bool) -> ChartResult:
    """The region's core round and dynamic inspection, side by side per key question."""
    use_theme()
    own = bridge.filter(pl.col("scope") == region)
    caveats = own["caveat"].drop_nulls().to_list() if own.height else []
    caveat = str(caveats[0]) if caveats else None
    data = _visible(own).select(
        pl.col("key_question").cast(pl.String).replace_strict(QUESTIONS).alias("question"),
        pl.col("measurement").replace_strict(SIDES).alias("side"),
        "pct",
        *INTERVAL,
        "n_applicable",
    )
    order = list(QUESTIONS.values())
    y = alt.Y("question:N", title=None, sort=order)
    colour = alt.Color(
        "side:N",
        scale=alt.Scale(domain=list(SIDES.values()), range=[CONTEXT, FOCUS]),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    x = alt.X("pct:Q", title="% of cases sufficient", scale=alt.Scale(domain=[0, 100]))
    rule = (
        alt.Chart()
        .mark_rule(strokeWidth=2, opacity=0.6)
        .encode(y=y, yOffset="side:N", color=colour, x="interval_low:Q", x2="interval_high:Q")
    )
    dot = alt.Chart().mark_point(filled=True, size=70).encode(
        y=y, yOffset="side:N", x=x, color=colour,
        tooltip=["question", "side", alt.Tooltip("pct:Q", format=".1f"), "n_applicable"],
    )  # fmt: skip
    marks = levels_only_marks(y=y, yOffset="side:N", x="pct:Q")
    lines = textwrap.wrap(  # one long line would widen the SVG and shrink the chart
        "Keeping people safe: share of cases judged sufficient; 95% intervals allowing for "
        "clustering where there are enough inspections ([u]: a level only). "
        + (caveat or "No dynamic inspection for this region in the data."),
        110,
    )
    chart = (
        alt.layer(rule, dot, marks, data=data)
        .properties(width=WIDTH, height=220)
        .properties(
            title=case_title(f"Core inspections and dynamic inspection: {region}", lines, synthetic)
        )
    )
    finding = bridge_finding(data, region, caveat, _withheld(own))
    alt_text = (
        f"Dot plot of keeping-people-safe sufficiency, core and dynamic inspection. {finding}"
    )
    return ChartResult("dipp_bridge", chart, data, alt_text, finding)


def _withheld(own: pl.DataFrame) -> list[str]:
    """'Reviewing (latest core inspections before)' for each suppressed cell of the region."""
    if own.height == 0 or "suppressed" not in own.columns:
        return []
    hidden = own.filter(pl.col("suppressed"))
    return [
        f"{QUESTIONS.get(str(q), str(q))} ({SIDES.get(str(m), str(m)).lower()})"
        for q, m in hidden.select(pl.col("key_question").cast(pl.String), "measurement").rows()
    ]


def bridge_finding(
    data: pl.DataFrame, region: str, caveat: str | None, withheld: list[str] | None = None
) -> str:
    """The range of levels on each side in words, what is withheld, then the caveat; never a
    direction (the two are not directly comparable)."""
    if data.height == 0:
        return f"No published dynamic-inspection bridge cells for {region}."
    parts = []
    for side in SIDES.values():
        pct = data.filter(pl.col("side") == side)["pct"].drop_nulls()
        if pct.len():
            low, high = float(pct.min()), float(pct.max())  # type: ignore[arg-type]
            span = f"{low:.0f}%" if round(low) == round(high) else f"{low:.0f}% to {high:.0f}%"
            parts.append(f"{side.lower()}: {span} of cases sufficient")
    hidden = f" Withheld to protect small counts: {', '.join(withheld)}." if withheld else ""
    return (
        f"Keeping people safe in {region}, across the four stages, {'; '.join(parts)} (each "
        f"stage's figure and interval are in the table).{hidden} {caveat or ''}"
    ).strip()
