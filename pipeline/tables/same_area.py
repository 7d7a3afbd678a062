"""The annual report's same-area comparison of the unified service with its predecessors.

HMIP's 2022-23 annual report (as seed 004 quotes it) compared "inspection data from the core
inspections of the re-unified Probation Service with the data from the same areas gathered in
the last round of CRC and NPS inspections", and found the unified service "less successful at
meeting every kind of need". The all-cases before/after comparison (`comparisons.unification`)
answers a different question: every inspection before against every inspection after.

**Matching rule** (the project's, stated in the methodology): an *area* is one of today's 12
regions, the finest geography the reference data maps both CRC/NPS areas and PDUs to (cases of
a CRC or NPS division spanning regions carry the region their area belongs to now). Its *last
CRC and NPS round* is, for each CRC and NPS division with cases in the region, its latest
inspection with fieldwork before unification (26 June 2021), counting only the cases in the
region. Its *first inspection as a unified service* is, for each PDU in the region, that PDU's
first core PDU inspection with fieldwork on or after unification. A region is matched when it
has cases on both sides; England and Wales pools the matched regions only. Regions without
both sides are listed, with the reason, by `matching`.

The comparison itself is `comparisons.unification` on the matched cases: the same raw,
clustered and case-mix-adjusted (CR2) differences with Holm-adjusted p-values, for the key
questions (`same_area`) and for needs met (`same_area_needs`).
"""

from __future__ import annotations

import polars as pl

from pipeline import refdata
from pipeline.config import Settings
from pipeline.domain import NATIONAL, NEED_PREFIX, SAME_AREA_SIDES
from pipeline.tables.cells import answers_in_context
from pipeline.tables.comparisons import unification

PRE_TYPES = ("crc", "nps")
POST_TYPES = ("pdu",)
NEEDS_STANDARD = "needs"
"""What the needs rows carry in the `standard` column (they belong to no standard)."""
SIDE = "same_area"
"""Column naming an inspection-region's side of the comparison (null: not in it)."""


def _inspection_sides(inspections: pl.LazyFrame) -> pl.LazyFrame:
    """(inspection_id, era) of each division's last inspection before unification and each
    PDU's first core inspection after it (ties broken by inspection id)."""
    unified = refdata.unification_date()
    base = inspections.select(
        "inspection_id",
        pl.col("inspection_type").cast(pl.String),
        pl.col("unit_name").cast(pl.String),
        "fieldwork_start",
    ).unique()
    order = ["fieldwork_start", "inspection_id"]
    last = (
        base.filter(pl.col("inspection_type").is_in(PRE_TYPES), pl.col("fieldwork_start") < unified)
        .sort(order)
        .group_by("inspection_type", "unit_name")
        .agg(pl.col("inspection_id").last())
        .with_columns(pl.lit("pre_unification").alias("era"))
    )
    first = (
        base.filter(
            pl.col("inspection_type").is_in(POST_TYPES), pl.col("fieldwork_start") >= unified
        )
        .sort(order)
        .group_by("unit_name")
        .agg(pl.col("inspection_id").first())
        .with_columns(pl.lit("post_unification").alias("era"))
    )
    return pl.concat([last.select("inspection_id", "era"), first.select("inspection_id", "era")])


def candidates(inspections: pl.LazyFrame, pairs: pl.LazyFrame) -> pl.LazyFrame:
    """(inspection_id, region, era) of every inspection-region on either side, matched or
    not. `pairs`: the (inspection_id, region) of the cases (a division's cases may be in
    several regions)."""
    regions = pairs.select("inspection_id", pl.col("region").cast(pl.String)).unique()
    return regions.join(_inspection_sides(inspections), on="inspection_id", how="inner")


def sides(inspections: pl.LazyFrame, pairs: pl.LazyFrame) -> pl.LazyFrame:
    """(inspection_id, region, same_area) of the inspection-regions in the comparison: both
    sides of every matched region; `same_area` is the side's code (domain.SAME_AREA_SIDES)."""
    found = candidates(inspections, pairs)
    matched = (
        found.group_by("region")
        .agg(pl.col("era").n_unique().alias("_sides"))
        .filter(pl.col("_sides") == 2)
    ).select("region")
    return found.join(matched, on="region", how="semi").select(
        "inspection_id",
        "region",
        pl.col("era").replace_strict(SAME_AREA_SIDES, return_dtype=pl.String).alias(SIDE),
    )


def _compared(context: pl.LazyFrame, settings: Settings | None) -> pl.DataFrame:
    """`unification` on the matched rows, its withholding note in the comparison's words."""
    table = unification(context, settings)
    note = (
        pl.col("comparison_note")
        .str.replace("inspections before and", "inspections in the last CRC and NPS round and")
        .str.replace("after unification", "first inspections since unification")
    )
    return table.with_columns(note)


def _matched(context: pl.LazyFrame, chosen: pl.LazyFrame) -> pl.LazyFrame:
    """The rows of `context` in the comparison (their inspection-region is on a side)."""
    keys = chosen.select("inspection_id", "region")
    return context.join(keys, on=["inspection_id", "region"], how="semi")


def same_area(
    context: pl.LazyFrame, inspections: pl.DataFrame, settings: Settings | None = None
) -> pl.DataFrame:
    """Key questions: each matched region's last CRC and NPS round against its first
    inspections as a unified service, and England and Wales over the matched regions."""
    chosen = sides(inspections.lazy(), context)
    return _compared(_matched(context, chosen), settings)


def need_comparable_id(area: str) -> str:
    """A need's id in the comparison ('NEED_ACCOMMODATION'), shaped like a key question's."""
    return f"NEED_{area.upper()}"


def need_comparable_expr(measure: pl.Expr) -> pl.Expr:
    """The comparison id of a `needs` table measure ('accommodation|met'); null for the other
    measure (identified), which the comparison does not use."""
    parts = measure.str.split("|")
    return (
        pl.when(parts.list.get(1, null_on_oob=True) == "met")
        .then(pl.lit("NEED_") + parts.list.first().str.to_uppercase())
        .otherwise(None)
    )


def need_context(cases: pl.LazyFrame) -> pl.LazyFrame:
    """Needs met as key-question-like answers in context: comparable_id 'NEED_<AREA>', the
    answer to `need_<area>_addressed` (core question set, as the key questions)."""
    areas = refdata.needs()["need"].to_list()
    present = cases.collect_schema()
    columns = [f"{NEED_PREFIX}{a}_addressed" for a in areas]
    columns = [c for c in columns if c in present]
    codes = {f"{NEED_PREFIX}{a}_addressed": need_comparable_id(a) for a in areas}
    long = (
        cases.select("inspection_id", "case_id", *[pl.col(c).cast(pl.String) for c in columns])
        .unpivot(columns, index=["inspection_id", "case_id"], variable_name="need")
        .filter(pl.col("value").is_not_null())
        .select(
            "inspection_id",
            "case_id",
            pl.col("need").replace_strict(codes, return_dtype=pl.String).alias("comparable_id"),
            pl.col("need").replace_strict(codes, return_dtype=pl.String).alias("key_question"),
            pl.lit(NEEDS_STANDARD).alias("standard"),
            pl.lit("met").alias("theme"),  # not null: null keys never join
            pl.col("value").alias("answer"),
        )
    )
    return answers_in_context(cases, long)


def same_area_needs(
    cases: pl.LazyFrame, inspections: pl.DataFrame, settings: Settings | None = None
) -> pl.DataFrame:
    """Needs met, compared as `same_area` compares the key questions (same matching)."""
    context = need_context(cases)
    chosen = sides(inspections.lazy(), cases.select("inspection_id", "region"))
    return _compared(_matched(context, chosen), settings)


def matching(inspections: pl.DataFrame, pairs: pl.LazyFrame) -> pl.DataFrame:
    """Per region: the CRC/NPS inspections and PDU inspections on each side, whether it is
    matched, and why not. England and Wales last (the matched regions it pools)."""
    found = candidates(inspections.lazy(), pairs).collect()
    counts = found.group_by("region").agg(
        (pl.col("era") == "pre_unification").sum().alias("n_last_crc_nps_inspections"),
        (pl.col("era") == "post_unification").sum().alias("n_first_unified_inspections"),
    )
    regions = pl.DataFrame({"region": refdata.region_names()})
    table = regions.join(counts, on="region", how="left").with_columns(
        pl.col("n_last_crc_nps_inspections", "n_first_unified_inspections")
        .fill_null(0)
        .cast(pl.Int64)
    )
    pre, post = pl.col("n_last_crc_nps_inspections"), pl.col("n_first_unified_inspections")
    reason = (
        pl.when((pre == 0) & (post == 0))
        .then(pl.lit("no CRC or NPS inspection before, and no PDU inspection after, unification"))
        .when(pre == 0)
        .then(pl.lit("no CRC or NPS inspection before unification"))
        .when(post == 0)
        .then(pl.lit("no PDU inspection since unification"))
    )
    table = table.with_columns(
        ((pre > 0) & (post > 0)).alias("matched"), reason.alias("unmatched_reason")
    )
    pooled = found.join(table.filter("matched").select("region"), on="region", how="semi")
    national = pooled.select(  # a division in two matched regions counts once
        pl.lit(NATIONAL).alias("region"),
        pl.col("inspection_id").filter(pl.col("era") == "pre_unification").n_unique()
        .cast(pl.Int64).alias("n_last_crc_nps_inspections"),
        pl.col("inspection_id").filter(pl.col("era") == "post_unification").n_unique()
        .cast(pl.Int64).alias("n_first_unified_inspections"),
        pl.lit(True).alias("matched"),
        pl.lit(None, pl.String).alias("unmatched_reason"),
    )  # fmt: skip
    return pl.concat([table, national]).rename({"region": "scope"})
