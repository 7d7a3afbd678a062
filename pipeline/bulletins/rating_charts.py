"""Latest rating and movement since the previous inspection of the same unit (issue 27).

Reads the release's `rating_movement` table: one row per unit and standard with its latest
rating and the movement since its previous inspection (improved, same, declined or first
inspection). Real published ratings and ratings derived here from synthetic case data are
counted apart and labelled, never pooled.
"""

from __future__ import annotations

import json

import altair as alt
import polars as pl

from pipeline.bulletins.charts import ChartResult
from pipeline.bulletins.theme import RATING_COLOURS, WIDTH, title, use_theme
from pipeline.domain import NATIONAL

MOVEMENTS = ["improved", "same", "declined", "first inspection"]
REAL, SYNTHETIC = "Real published ratings", "Synthetic derived ratings (illustrative)"


def movement_counts(rating_movement: pl.DataFrame, area: str) -> pl.DataFrame:
    """Ratings by source, movement and latest rating, for `area` (every unit for England
    and Wales, the region's units otherwise)."""
    rows = rating_movement.filter(pl.col("latest_rating").is_not_null())
    if area != NATIONAL:
        rows = rows.filter(pl.col("region") == area)
    counted = (
        rows.with_columns(
            pl.when(pl.col("synthetic")).then(pl.lit(SYNTHETIC)).otherwise(pl.lit(REAL))
            .alias("source"),
            pl.col("latest_rating").cast(pl.String),
        )
        .group_by("source", "movement", "latest_rating")
        .agg(pl.len().cast(pl.Int64).alias("n_ratings"))
    )  # fmt: skip
    rank = {m: i for i, m in enumerate(MOVEMENTS)}
    return counted.sort(
        "source",
        pl.col("movement").replace_strict(rank, default=len(rank), return_dtype=pl.Int64),
        "latest_rating",
    )


def movement_finding(data: pl.DataFrame, area: str) -> str:
    """How many ratings of re-inspected units improved, stayed the same or declined, for real
    published ratings first, each source named."""
    if data.height == 0:
        return f"No rating of a unit in {area} is in the data."
    sentences = []
    for source in (REAL, SYNTHETIC):
        mine = data.filter(pl.col("source") == source)
        if mine.height == 0:
            continue
        by = dict(mine.group_by("movement").agg(pl.col("n_ratings").sum()).iter_rows())
        again = sum(by.get(m, 0) for m in ("improved", "same", "declined"))
        first = by.get("first inspection", 0)
        words = source.split(" (")[0].lower().capitalize()
        if again == 0:
            sentences.append(f"{words}: all {first} are from a unit's first inspection.")
            continue
        ratings = "1 rating of a unit" if again == 1 else f"{again} ratings of units"
        firsts = "1 is a first inspection" if first == 1 else f"{first} are first inspections"
        sentences.append(
            f"{words}: of {ratings} inspected before, {by.get('improved', 0)} "
            f"improved, {by.get('same', 0)} stayed the same and {by.get('declined', 0)} "
            f"declined; {firsts}."
        )
    return " ".join(sentences)


def rating_movement_chart(rating_movement: pl.DataFrame, area: str) -> ChartResult:
    """Ratings by movement since the unit's previous inspection, coloured by the latest
    rating; real published and synthetic derived ratings in separate panels."""
    use_theme()
    data = movement_counts(rating_movement, area)
    order = list(RATING_COLOURS)
    chart = (
        alt.Chart(data)
        .mark_bar(stroke="white", strokeWidth=0.75)
        .encode(
            y=alt.Y("movement:N", sort=MOVEMENTS, title=None),
            x=alt.X("n_ratings:Q", title="Ratings (number)", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "latest_rating:N",
                sort=order,
                title=None,
                scale=alt.Scale(domain=order, range=list(RATING_COLOURS.values())),
            ),
            order=alt.Order("rating_order:Q"),
            tooltip=["source", "movement", "latest_rating", "n_ratings"],
        )
        .transform_calculate(rating_order=f"indexof({json.dumps(order)}, datum.latest_rating)")
        .properties(width=WIDTH // 2 - 20, height=120)
        .facet(column=alt.Column("source:N", sort=[REAL, SYNTHETIC], title=None))
        .resolve_scale(x="independent")
    )
    finding = movement_finding(data, area)
    chart = chart.properties(
        title=title(
            f"Latest ratings and movement since the previous inspection: {area}",
            [
                "Each bar counts ratings (a unit's rating on a standard) by movement since the "
                "unit's previous inspection, coloured by the latest rating.",
                "Real published ratings (HM Inspectorate of Probation reports) and ratings "
                "derived from the synthetic sample are counted apart; the synthetic ones are "
                "illustrative only.",
            ],
        )
    )
    alt_text = (
        "Bar charts of ratings by movement since the previous inspection (improved, same, "
        f"declined, first inspection), real published and synthetic apart. {finding}"
    )
    return ChartResult("rating_movement", chart, data, alt_text, finding)
