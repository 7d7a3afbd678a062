"""The regional before/after bridge: each region's dynamic inspection of public protection beside
its latest core round of PDU inspections, on the four keeping-people-safe key questions both ask.

Two levels per region and key question, each with its counts, the Wilson interval and the
clustered interval the other cell tables carry: the region's latest 2023-programme round (its
PDU inspections pooled, as `kq_round`) before the dynamic inspection's fieldwork, and the
dynamic inspection itself. They are **not directly comparable** and no difference is tested:
the dynamic inspection looks at public protection only, with its own case sample across the
region and, for implementation and reviewing, its own wording (framework.md 3.5); the core
round pooled each PDU's sample; cases on the adjusted question set are left out of both (as in
every sufficiency table); and the two were months apart. A one-inspection cell (the dynamic
inspection) is a level only ([u]), by the project's rule for cells on two inspections or fewer.
"""

from __future__ import annotations

import polars as pl

from pipeline import refdata
from pipeline.config import Settings
from pipeline.domain import DIPP_PROGRAMME, STANDARDS
from pipeline.tables.cells import KQ_COLUMNS, ordered
from pipeline.tables.rounds import round_of
from pipeline.tables.trends import inspection_counts, kq_icc, pooled_cells

SAFETY_QUESTIONS: tuple[str, ...] = tuple(f"{s}_safety" for s in STANDARDS)
"""The key questions the core programme and the dynamic inspection both ask."""
MEASUREMENTS = ("core_round", "dipp")
"""Each region's two rows per key question: before (core round), after (dynamic inspection)."""
KEYS = ["scope", "measurement", "series", *KQ_COLUMNS]
CAVEAT = (
    "Not directly comparable, and no difference is tested: the dynamic inspection examines "
    "public protection only, through its own case sample across the region (the core round "
    "pooled each PDU's sample) and, for implementation and reviewing, its own question "
    "wording; cases on the adjusted question set are left out of both; the two were "
    "{months} months apart."
)
"""The caveat every row carries (and the bulletin prints), with the months between them."""


SOURCE_COLUMNS = ["source_id", "source_fieldwork_start", "source_fieldwork_end"]


def members(inspections: pl.DataFrame) -> pl.DataFrame:
    """inspection_id -> scope (the region), measurement and source_id, with the source's
    fieldwork span, for every region that had a dynamic inspection: the inspection itself
    ('dipp'), and before it ('core_round') the region's latest regional round that ended before
    the dynamic inspection began or, where the region had none, its PDU inspections of the
    latest core programme that ended before it (pooled)."""
    dipp = inspections.filter(pl.col("programme").cast(pl.String) == DIPP_PROGRAMME).select(
        "inspection_id",
        pl.col("region").cast(pl.String).alias("scope"),
        pl.lit("dipp").alias("measurement"),
        pl.col("inspection_id").alias("source_id"),
        pl.col("fieldwork_start").alias("source_fieldwork_start"),
        pl.col("fieldwork_end").alias("source_fieldwork_end"),
    )
    by = dipp.group_by("scope").agg(pl.col("source_fieldwork_start").min().alias("_by"))
    rounds = _round_members(inspections, by)
    rest = by.join(rounds.select("scope").unique(), on="scope", how="anti")
    core = pl.concat([rounds, _programme_members(inspections, rest)])
    core = core.select(
        "inspection_id", "scope", pl.lit("core_round").alias("measurement"), *SOURCE_COLUMNS
    )
    return pl.concat([core, dipp]).sort("scope", "measurement", "inspection_id")


def _round_members(inspections: pl.DataFrame, by: pl.DataFrame) -> pl.DataFrame:
    """The PDU inspections of each region's latest regional round ended before `_by`."""
    rounds = inspections.join(round_of(inspections), on="inspection_id", how="inner")
    spans = rounds.group_by("regional_round").agg(
        pl.col("region").cast(pl.String).mode().sort().first().alias("scope"),
        pl.col("fieldwork_start").min().alias("source_fieldwork_start"),
        pl.col("fieldwork_end").max().alias("source_fieldwork_end"),
    )
    latest = (
        spans.join(by, on="scope", how="inner")
        .filter(pl.col("source_fieldwork_end") < pl.col("_by"))
        .sort("source_fieldwork_end", "regional_round")
        .group_by("scope", maintain_order=True)
        .last()
        .drop("_by")
        .rename({"regional_round": "source_id"})
    )
    members = rounds.select("inspection_id", pl.col("regional_round").alias("source_id"))
    joined = members.join(latest, on="source_id", how="inner")
    return joined.select("inspection_id", "scope", *SOURCE_COLUMNS)


def _programme_members(inspections: pl.DataFrame, by: pl.DataFrame) -> pl.DataFrame:
    """For regions without a round: their PDU inspections of the latest core programme with
    regional figures, each ended before `_by`, as one pooled source."""
    pdu = inspections.filter(
        (pl.col("inspection_type").cast(pl.String) == "pdu")
        & pl.col("programme").cast(pl.String).is_in(refdata.regional_programmes())
    ).with_columns(pl.col("region").cast(pl.String).alias("scope"))
    before = pdu.join(by, on="scope", how="inner").filter(pl.col("fieldwork_end") < pl.col("_by"))
    latest = before.group_by("scope").agg(
        pl.col("programme").sort_by("fieldwork_end").last().alias("_programme")
    )
    chosen = before.join(latest, on="scope").filter(pl.col("programme") == pl.col("_programme"))
    return chosen.with_columns(
        pl.format("{} PDU inspections", pl.col("programme").cast(pl.String)).alias("source_id"),
        pl.col("fieldwork_start").min().over("scope").alias("source_fieldwork_start"),
        pl.col("fieldwork_end").max().over("scope").alias("source_fieldwork_end"),
    ).select("inspection_id", "scope", *SOURCE_COLUMNS)


def dipp_bridge(
    context: pl.LazyFrame, inspections: pl.DataFrame, settings: Settings | None = None
) -> pl.DataFrame:
    """Region x key question x measurement: the core round's and the dynamic inspection's
    levels on the keeping-people-safe questions, with counts, intervals and the caveat."""
    base = inspection_counts(context)
    mapping = members(inspections)
    safety = base.filter(pl.col("key_question").cast(pl.String).is_in(SAFETY_QUESTIONS))
    grouped = safety.join(
        mapping.select("inspection_id", "scope", "measurement"), on="inspection_id"
    )
    table = pooled_cells(grouped.lazy(), KEYS, kq_icc(base), None, settings)
    sources = mapping.drop("inspection_id").unique(["scope", "measurement"])
    table = table.join(sources, on=["scope", "measurement"], how="left")
    return ordered(_with_words(table), ["scope", "comparable_id", "measurement"])


def _with_words(table: pl.DataFrame) -> pl.DataFrame:
    """Each row's own question wording, the cases answering, the months between the core round
    and the dynamic inspection, and the caveat."""
    wording = refdata.key_questions().select(
        pl.col("key_question"),
        pl.when(pl.col("framework") == "dipp2025")
        .then(pl.lit("dipp"))
        .otherwise(pl.lit("core_round"))
        .alias("measurement"),
        pl.col("question_text").alias("question_wording"),
        pl.col("framework"),
    )
    wording = wording.filter(pl.col("framework").is_in(["2023", "dipp2025"])).drop("framework")
    table = table.with_columns(pl.col("key_question").cast(pl.String)).join(
        wording, on=["key_question", "measurement"], how="left"
    )
    before = (
        table.filter(pl.col("measurement") == "core_round")
        .group_by("scope")
        .agg(pl.col("source_fieldwork_end").max().alias("_before"))
    )
    after = (
        table.filter(pl.col("measurement") == "dipp")
        .group_by("scope")
        .agg(pl.col("source_fieldwork_start").min().alias("_after"))
    )
    gap = after.join(before, on="scope", how="inner").select(
        "scope",
        ((pl.col("_after") - pl.col("_before")).dt.total_days() / 30.44)
        .round(0)
        .cast(pl.Int64)
        .alias("months_apart"),
    )
    return (
        table.join(gap, on="scope", how="left")
        .with_columns(
            (pl.col("n_yes") + pl.col("n_no") + pl.col("n_na")).alias("n_cases_answered"),
            pl.lit(False).alias("directly_comparable"),
            pl.format(
                CAVEAT.replace("{months}", "{}"),
                pl.col("months_apart").cast(pl.String).fill_null("an unknown number of"),
            ).alias("caveat"),
        )
        .with_columns(
            pl.when(pl.col("months_apart").is_null())
            .then(pl.col("caveat").str.replace("; the two were .*$", "; no core round before it."))
            .otherwise(pl.col("caveat"))
            .alias("caveat")
        )
    )
