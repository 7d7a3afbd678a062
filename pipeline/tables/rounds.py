"""Regional rounds: PDU case data pooled per regional inspection, and the regional ratings.

In the 2023 programme every PDU of a region is inspected, then the regional inspection rates
desistance, public protection, resettlement and court work "from aggregated PDU data"
(programme page, reference/sources). `kq_round` pools each round's PDU cases per key question
(cases flagged with the regional inspection's id in `regional_round`; case rows of a
`regional` inspection count as its own round). `regional_ratings` turns those pooled
percentages into ratings by the configurable rule in reference/regional_rating_rules.csv
(unverified: no source states it) and sets them beside the ratings HMIP published for the
region's inspection, where the compilation holds one.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from pipeline import refdata
from pipeline.config import Settings
from pipeline.tables.cells import KQ_COLUMNS, ordered
from pipeline.tables.ratings import band_expr, with_uncertainty
from pipeline.tables.trends import inspection_counts, kq_icc, pooled_cells

KEYS = ["regional_round", "series", *KQ_COLUMNS]
PUBLISHED_WITHIN = dt.timedelta(days=550)
"""A published regional rating matches a round when the report came out within about 18
months of the round's last PDU fieldwork (regional reports follow the PDU inspections)."""


def round_of(inspections: pl.DataFrame) -> pl.DataFrame:
    """inspection_id -> regional_round, for every inspection that feeds a regional rating."""
    round_id = pl.coalesce(
        pl.col("regional_round"),
        pl.when(pl.col("inspection_type").cast(pl.String) == "regional").then("inspection_id"),
    )
    return inspections.select("inspection_id", round_id.alias("regional_round")).drop_nulls()


def kq_round(
    context: pl.LazyFrame, inspections: pl.DataFrame, settings: Settings | None = None
) -> pl.DataFrame:
    """Key question x regional round: the round's PDU cases pooled, with clustered intervals
    (each PDU inspection a cluster)."""
    base = inspection_counts(context)
    members = base.join(round_of(inspections), on="inspection_id", how="inner")
    table = pooled_cells(members.lazy(), KEYS, kq_icc(base), None, settings)
    info = _round_info(inspections)
    return ordered(
        table.join(info, on="regional_round", how="left"), ["regional_round", "comparable_id"]
    )


def _round_info(inspections: pl.DataFrame) -> pl.DataFrame:
    """Region, PDU inspections and fieldwork span of each round."""
    rounds = inspections.join(round_of(inspections), on="inspection_id", how="inner")
    return rounds.group_by("regional_round").agg(
        pl.col("region").mode().sort().first().alias("region"),
        pl.len().cast(pl.Int64).alias("n_pdu_inspections"),
        pl.col("fieldwork_start").min().alias("round_fieldwork_start"),
        pl.col("fieldwork_end").max().alias("round_fieldwork_end"),
    )


def regional_ratings(round_cells: pl.DataFrame, published: pl.DataFrame) -> pl.DataFrame:
    """Regional domain-two ratings derived from the (disclosure-controlled) round cells, one
    row per round x regional standard, beside the published ratings of the region's inspection.

    A rating is given only when every key question its rule needs is present and published;
    otherwise `reason` says what is missing (a block not in the data, or suppressed cells)."""
    rules = refdata.regional_rating_rules()
    rounds = round_cells.select(
        "regional_round", "region", "n_pdu_inspections", "round_fieldwork_start",
        "round_fieldwork_end", "synthetic",
    ).unique("regional_round")  # fmt: skip
    rows = rounds.join(
        rules.drop("notes").rename({"source": "rule_source", "combine": "rule_combine"}),
        how="cross",
    )
    cells = round_cells.select(
        "regional_round", "key_question", "pct", "n_applicable", "n_yes", "suppressed"
    ).with_columns(pl.col("key_question").cast(pl.String))
    needed = rows.explode("key_questions").rename({"key_questions": "key_question"})
    joined = needed.join(cells, on=["regional_round", "key_question"], how="left")
    derived = joined.group_by("regional_round", "regional_standard").agg(
        *_combine(),
        pl.col("suppressed").fill_null(False).any().alias("_suppressed"),
        pl.col("suppressed").is_null().sum().alias("_absent"),  # no such cell in the data
        pl.len().alias("_needed"),
        pl.struct("n_yes", "n_applicable").alias("_counts"),
        (pl.col("rule_combine").first() == "pooled").alias("_pooled"),
    )
    table = rows.drop("key_questions").join(
        derived, on=["regional_round", "regional_standard"], how="left"
    )
    table = _rate(table).join(
        _published_beside(table, published), on=["regional_round", "regional_standard"],
        how="left",
    )  # fmt: skip
    table = with_uncertainty(table)
    return ordered(table, ["round_fieldwork_start", "regional_round", "regional_standard"])


def _combine() -> list[pl.Expr]:
    """The rule's percentage: the lowest of its key questions, or all of them pooled."""
    lowest = pl.col("pct").min()
    pooled = 100 * pl.col("n_yes").sum() / pl.col("n_applicable").sum()
    pct = pl.when(pl.col("rule_combine").first() == "pooled").then(pooled).otherwise(lowest)
    which = pl.col("key_question").sort_by(["pct", "key_question"], nulls_last=True).first()
    return [
        pct.alias("rule_pct"),
        pl.when(pl.col("rule_combine").first() == "lowest").then(which).alias("rule_key_question"),
        pl.col("n_applicable").min().alias("n_applicable_min"),
        pl.col("framework").first().alias("_framework"),
    ]


def _rate(table: pl.DataFrame) -> pl.DataFrame:
    """Band the rule's percentage; say why where no rating can be given."""
    absent, needed = pl.col("_absent"), pl.col("_needed")
    hidden = pl.col("_suppressed") | (absent > 0)
    label = pl.col("standard_label").str.to_lowercase()
    reason = (
        pl.when(absent == needed)
        .then(pl.format("no {} answers in the case data", label))
        .when(absent > 0)
        .then(pl.format("only {} of {} key questions in the case data", needed - absent, needed))
        .when(pl.col("_suppressed"))
        .then(pl.lit("suppressed to protect the round's key-question cells"))
    )
    frames = []
    for (framework,), group in table.group_by("framework", maintain_order=True):
        frames.append(
            group.with_columns(band_expr(pl.col("rule_pct"), str(framework)).alias("rating"))
        )
    rated = pl.concat(frames) if frames else table.with_columns(pl.lit(None).alias("rating"))
    return (
        rated.with_columns(
            pl.when(hidden).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("rating", "rule_pct", "rule_key_question", "n_applicable_min")
        )
        .with_columns(
            reason.alias("reason"),
            pl.col("verified").alias("rule_verified"),
            pl.lit("aggregated_pdu_case_data").alias("rated_by"),
        )
        .drop("_suppressed", "_absent", "_needed", "_framework", "verified")
    )


def _published_beside(table: pl.DataFrame, published: pl.DataFrame) -> pl.DataFrame:
    """The real published rating of the same standard, and the overall rating, of the
    region's regional inspection reported after the round (where the compilation has one)."""
    reports = published.filter(
        (pl.col("inspection_type") == "regional") & pl.col("rating").is_not_null()
    ).select(
        pl.col("region").cast(pl.String),
        pl.col("standard").str.to_lowercase().alias("published_standard"),
        pl.col("rating").cast(pl.String).alias("published_rating"),
        "publication_date_first_day",
        "source_url",
    )
    spans = table.select(
        "regional_round", "regional_standard", pl.col("region").cast(pl.String),
        "round_fieldwork_end",
    )  # fmt: skip
    matched = spans.join(reports, on="region", how="inner").filter(
        pl.col("publication_date_first_day").is_between(
            pl.col("round_fieldwork_end").dt.truncate("1y"),
            pl.col("round_fieldwork_end") + PUBLISHED_WITHIN,
        )
    )
    same = matched.filter(pl.col("published_standard") == pl.col("regional_standard"))
    overall = matched.filter(pl.col("published_standard") == "overall")
    keys = ["regional_round", "regional_standard"]
    return (
        spans.select(keys)
        .join(same.group_by(keys).agg(pl.col("published_rating").first()), on=keys, how="left")
        .join(
            overall.group_by(keys).agg(
                pl.col("published_rating").first().alias("published_overall_rating"),
                pl.col("source_url").first().alias("published_source_url"),
            ),
            on=keys,
            how="left",
        )
    )
