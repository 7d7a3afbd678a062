"""Tables from real published ratings: do the configured rules reproduce them, and who moved.

`rating_rules_check` applies the configured rating rule, and variants of it, to every real pair
the published figures hold (a key-question percentage beside the published rating of its
standard, same unit and report), and records the 2024 annual report's statement about regional
desistance ratings beside what the regional rule can say about it. `rating_movement` gives each
unit's latest rating and its movement since the unit's previous inspection.
"""

from __future__ import annotations

import polars as pl

from pipeline import refdata
from pipeline.domain import RATING, THEMES

CASE_STANDARDS = {
    "assessment": "assessment",
    "planning": "planning",
    "implementation_and_delivery": "implementation",
    "reviewing": "reviewing",
}
KEY_QUESTIONS = [f"{s}_{t}" for s in CASE_STANDARDS.values() for t in THEMES]
VARIANTS = {
    "configured": (False, False),
    "round_before_banding": (True, False),
    "strictly_above_cut_off": (False, True),
}
"""Rule variants tried: (round percentages to whole numbers first, cut-off must be exceeded)."""
REGIONAL_STATEMENT = "regions_rated_inadequate_desistance"


def _rank() -> dict[str, int]:
    return {str(r): int(k) for r, k in refdata.rating_scores().select("rating", "rank").iter_rows()}


def band_of(pct: float, framework: str, round_first: bool, strict: bool) -> str | None:
    """The band of a percentage under a rule variant."""
    bands = refdata.rating_bands().filter(pl.col("framework") == framework).sort("min_pct")
    value = float(round(pct)) if round_first else pct
    rating = None
    for name, cut_off in bands.select("rating", "min_pct").iter_rows():
        if cut_off == 0 or (value > cut_off if strict else value >= cut_off):
            rating = str(name)
    return rating


def _framework(level: str, year: int | None) -> str:
    if level in ("crc", "nps_division") or (year is not None and year < 2021):
        return "2018"
    return "2023" if year is None or year >= 2024 else "2021"


def _pairs(published: pl.DataFrame) -> pl.DataFrame:
    """Published case-standard ratings with the key-question percentages of the same unit,
    report and standard."""
    keep = published.filter(
        pl.col("level").cast(pl.String).is_in(["pdu", "region", "crc", "nps_division"])
    )
    on = ["unit_name", "publication_date", "standard"]
    ratings = keep.filter(
        pl.col("standard").is_in(list(CASE_STANDARDS)) & pl.col("rating").is_not_null()
    ).select(*on, pl.col("level").cast(pl.String), pl.col("region").cast(pl.String),
             "publication_year", pl.col("rating").cast(pl.String).alias("published_rating"),
             "source_url")  # fmt: skip
    kq = (
        keep.filter(pl.col("key_question").is_in(KEY_QUESTIONS) & pl.col("value_pct").is_not_null())
        .group_by(on)
        .agg(
            pl.col("value_pct").min().alias("lowest_pct"),
            pl.col("key_question").n_unique().alias("n_key_questions"),
        )
    )
    return ratings.join(kq, on=on, how="inner")


def rule_check(published: pl.DataFrame) -> pl.DataFrame:
    """One row per real pair x rule variant: the band the rule gives (an upper bound when fewer
    than three key questions are published) and whether the published rating agrees."""
    rank, rows = _rank(), []
    for pair in _pairs(published).iter_rows(named=True):
        framework = _framework(pair["level"], pair["publication_year"])
        for variant, (round_first, strict) in VARIANTS.items():
            band = band_of(pair["lowest_pct"], framework, round_first, strict)
            complete = pair["n_key_questions"] == 3
            agrees = None if band is None else (
                band == pair["published_rating"] if complete
                else rank[pair["published_rating"]] <= rank[band]
            )  # fmt: skip
            rows.append(pair | {"rule_variant": variant, "rule_rating": band,
                                "complete": complete, "agrees": agrees, "note": None})  # fmt: skip
    rows += _regional_statement(published)
    return _rule_frame(rows)


def _regional_statement(published: pl.DataFrame) -> list[dict[str, object]]:
    """The 2024 annual report: all three regions inspected February 2024 to February 2025
    were rated Inadequate for desistance. The regional rule (band of the lowest pooled
    desistance key question) can only be checked where those percentages are published."""
    statement = published.filter(pl.col("key_question") == REGIONAL_STATEMENT)
    desistance = published.filter(
        (pl.col("level").cast(pl.String) == "region")
        & pl.col("key_question").is_in([f"{s}_desistance" for s in CASE_STANDARDS.values()])
        & pl.col("value_pct").is_not_null()
    )
    rows = []
    for row in statement.iter_rows(named=True):
        note = (
            f"{int(row['numerator'] or 0)} of {int(row['denominator'] or 0)} regions published "
            f"as {row['rating']} for desistance; the published figures hold "
            f"{desistance.height} pooled regional desistance key-question percentage(s), so the "
            "regional rule cannot be tested against the statement"
        )
        rows.append({
            "unit_name": row["unit_name"], "publication_date": row["publication_date"],
            "standard": "desistance", "level": "region", "region": None,
            "publication_year": row["publication_year"],
            "published_rating": str(row["rating"]), "source_url": row["source_url"],
            "lowest_pct": None, "n_key_questions": 0, "rule_variant": "configured",
            "rule_rating": None, "complete": False, "agrees": None, "note": note,
        })  # fmt: skip
    return rows


def _rule_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    schema = {
        "unit_name": pl.String, "level": pl.String, "region": pl.String,
        "publication_date": pl.String, "publication_year": pl.Int16, "standard": pl.String,
        "n_key_questions": pl.Int64, "lowest_pct": pl.Float64, "rule_variant": pl.String,
        "rule_rating": pl.String, "published_rating": pl.String, "complete": pl.Boolean,
        "agrees": pl.Boolean, "note": pl.String, "source_url": pl.String,
    }  # fmt: skip
    frame = pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)
    return frame.with_columns(
        pl.col("rule_rating", "published_rating").cast(RATING),
        pl.lit(False).alias("synthetic"),
        pl.lit("published (real): HM Inspectorate of Probation reports").alias("data_source"),
    ).sort("publication_date", "unit_name", "standard", "rule_variant", nulls_last=True)


def agreement(check: pl.DataFrame) -> pl.DataFrame:
    """Pairs tested, agreeing and disagreeing (by name) per rule variant."""
    tested = check.filter(pl.col("agrees").is_not_null())
    return tested.group_by("rule_variant").agg(
        pl.len().alias("n_pairs"),
        pl.col("agrees").sum().alias("n_agree"),
        pl.format("{} {} ({})", "unit_name", "standard", "publication_date")
        .filter(~pl.col("agrees"))
        .alias("disagreements"),
    )


def _unit_key(name: str) -> str:
    from pipeline.stages.report_import import unit_key

    return unit_key(name)


def rating_movement(published: pl.DataFrame, rated: pl.DataFrame) -> pl.DataFrame:
    """Per PDU and region (and standard), the latest rating and the movement since the same
    unit's previous one: improved, same, declined or first inspection. Real published overall
    and standard ratings (dynamic inspections, which do not rate, left out), and the synthetic
    PDU standard ratings from case data (`rated`, as published), each row labelled."""
    real = published.filter(
        pl.col("level").cast(pl.String).is_in(["pdu", "region"])
        & (pl.col("inspection_type") != "dipp")
        & pl.col("rating").is_not_null()
        & pl.col("key_question").is_null()
    ).select(
        "unit_name", pl.col("level").cast(pl.String), pl.col("region").cast(pl.String),
        "standard", pl.col("publication_date_first_day").alias("date"),
        pl.col("publication_date").alias("date_text"),
        pl.col("rating").cast(pl.String), pl.lit(False).alias("synthetic"),
    )  # fmt: skip
    synthetic = rated.filter(
        (pl.col("inspection_type").cast(pl.String) == "pdu") & pl.col("rating").is_not_null()
    ).select(
        "unit_name", pl.lit("pdu").alias("level"), pl.col("region").cast(pl.String),
        pl.col("standard").cast(pl.String), pl.col("fieldwork_start").alias("date"),
        pl.col("fieldwork_start").cast(pl.String).alias("date_text"),
        pl.col("rating").cast(pl.String), pl.lit(True).alias("synthetic"),
    )  # fmt: skip
    ratings = pl.concat([real, synthetic]).filter(pl.col("date").is_not_null())
    ratings = ratings.with_columns(
        pl.col("unit_name").map_elements(_unit_key, return_dtype=pl.String).alias("unit_key"),
        pl.col("rating").replace_strict(_rank(), return_dtype=pl.Int64).alias("_rank"),
    ).sort("date")
    keys = ["synthetic", "level", "unit_key", "standard"]
    latest = ratings.group_by(keys, maintain_order=True).agg(
        pl.col("unit_name").last(), pl.col("region").drop_nulls().last(),
        pl.col("date_text").last().alias("latest_date"),
        pl.col("rating").last().alias("latest_rating"),
        pl.col("date_text").shift(1).last().alias("previous_date"),
        pl.col("rating").shift(1).last().alias("previous_rating"),
        pl.col("_rank").last().alias("_now"),
        pl.col("_rank").shift(1).last().alias("_before"),
        pl.len().alias("n_inspections"),
    )  # fmt: skip
    movement = (
        pl.when(pl.col("_before").is_null()).then(pl.lit("first inspection"))
        .when(pl.col("_now") > pl.col("_before")).then(pl.lit("improved"))  # rank 4 is best
        .when(pl.col("_now") < pl.col("_before")).then(pl.lit("declined"))
        .otherwise(pl.lit("same"))
    )  # fmt: skip
    return (
        latest.with_columns(
            movement.alias("movement"),
            pl.col("latest_rating", "previous_rating").cast(RATING),
            pl.when(pl.col("synthetic"))
            .then(pl.lit("synthetic: standard ratings derived here from the synthetic case data"))
            .otherwise(pl.lit("published (real): HM Inspectorate of Probation reports"))
            .alias("data_source"),
        )
        .drop("_now", "_before")
        .sort("synthetic", "level", "region", "unit_key", "standard", nulls_last=True)
    )
