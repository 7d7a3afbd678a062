"""Tidy: the three analysis tables, one fact per row.

- `cases`: one row per accepted case, with context, case mix and derived fields.
- `answers`: one row per case x key question answered (yes / no / na), with standard, theme
  and the comparable id that lines questions up across frameworks.
- `inspections`: one row per inspection event with dates, unit, region, provider, framework and
  case counts.
Rows are sorted on stable keys so the stored files are byte-identical run to run.
"""

from __future__ import annotations

import polars as pl

from pipeline import refdata
from pipeline.refdata import KEY_QUESTIONS

CASE_KEY = ("inspection_id", "case_id")


def cases_table(derived: pl.LazyFrame) -> pl.LazyFrame:
    """Accepted cases without the wide answer columns (those live in `answers`)."""
    return derived.drop(KEY_QUESTIONS).sort(*CASE_KEY)


def answers_table(derived: pl.LazyFrame) -> pl.LazyFrame:
    """Long answers: one row per case x key question with a recorded answer."""
    catalogue = refdata.key_questions().select(
        pl.col("framework"),
        "key_question",
        "kq_code",
    )
    generic = (
        refdata.key_questions()
        .select("key_question", "standard", "theme", "comparable_id")
        .unique("key_question")
    )
    kq_enum = pl.Enum(list(KEY_QUESTIONS))
    long = (
        derived.select(*CASE_KEY, pl.col("framework").cast(pl.String), *KEY_QUESTIONS)
        .unpivot(
            index=[*CASE_KEY, "framework"],
            on=list(KEY_QUESTIONS),
            variable_name="key_question",
            value_name="answer",
        )
        .filter(pl.col("answer").is_not_null())
    )
    return (
        long.join(generic.lazy(), on="key_question", how="left")
        .join(catalogue.lazy(), on=["framework", "key_question"], how="left")
        .with_columns(
            pl.col("key_question").cast(kq_enum),
            pl.col("standard").cast(pl.Enum(list(refdata.STANDARDS))),
            pl.col("theme").cast(pl.Enum(list(refdata.THEMES))),
            pl.col("framework").cast(pl.Enum(refdata.codes()["framework"])),
        )
        .select(
            *CASE_KEY,
            "framework",
            "key_question",
            "kq_code",
            "standard",
            "theme",
            "comparable_id",
            "answer",
        )
        .sort(*CASE_KEY, "key_question")
    )


def inspections_table(cases: pl.LazyFrame) -> pl.LazyFrame:
    """One row per inspection; region is 'England and Wales' for national inspections and
    'Multiple regions' where a pre-2021 footprint spans several of today's regions."""
    region = (
        pl.when(pl.col("inspection_type").first() == "national")
        .then(pl.lit("England and Wales"))
        .when(pl.col("region").n_unique() == 1)
        .then(pl.col("region").first().cast(pl.String))
        .otherwise(pl.lit("Multiple regions"))
    )
    return (
        cases.group_by("inspection_id")
        .agg(
            pl.col("inspection_type").first(),
            pl.col("framework").first(),
            pl.col("programme").first(),
            pl.col("era").first(),
            pl.col("unit_name").mode().sort().first(),
            region.alias("region"),
            pl.col("region").n_unique().alias("n_regions"),
            pl.col("provider").first(),
            pl.col("fieldwork_start").min(),
            pl.col("fieldwork_end").max(),
            pl.col("publication_date").min(),
            pl.col("publication_year").min(),
            pl.len().alias("n_cases"),
            (pl.col("question_set") == "adjusted").sum().alias("n_cases_adjusted"),
            pl.col("synthetic").all(),
        )
        .sort("fieldwork_start", "inspection_id")
    )
