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
from pipeline.domain import (
    ANSWER_STANDARDS,
    MULTIPLE_REGIONS,
    NATIONAL,
    PROMPT_PREFIX,
    QUESTIONS,
    RATIONALE_PREFIX,
    THEMES,
)

CASE_KEY = ("inspection_id", "case_id")


def _wide(prefix: str) -> list[str]:
    """Contract columns starting with `prefix` (the prompt or rationale block)."""
    return [c for c in refdata.contract_columns()["column"] if c.startswith(prefix)]


def cases_table(derived: pl.LazyFrame) -> pl.LazyFrame:
    """Accepted cases without the wide answer, prompt and rationale columns (those live in
    `answers`, `prompt_answers` and `rationales`)."""
    wide = [*QUESTIONS, *_wide(PROMPT_PREFIX), *_wide(RATIONALE_PREFIX)]
    return derived.drop(wide).sort(*CASE_KEY)


def _long(derived: pl.LazyFrame, prefix: str, name: str, value: str) -> pl.LazyFrame:
    """A block of wide columns `<prefix><code>` as long rows (case, name = code, value), blank
    values dropped; the code is still a text column with its prefix removed."""
    return (
        derived.select(*CASE_KEY, *_wide(prefix))
        .unpivot(index=list(CASE_KEY), variable_name=name, value_name=value)
        .filter(pl.col(value).is_not_null())
        .with_columns(pl.col(name).str.strip_prefix(prefix))
    )


def prompt_answers_table(derived: pl.LazyFrame) -> pl.LazyFrame:
    """Long prompt answers: one row per case x prompt answered, with the parent question."""
    prompts = refdata.prompts()
    parent = dict(prompts.select("prompt", "key_question").iter_rows())
    codes = pl.Enum(prompts["prompt"].to_list())
    prompt = pl.col("prompt")
    return (
        _long(derived, PROMPT_PREFIX, "prompt", "answer")
        .select(
            *CASE_KEY,
            prompt.cast(codes).alias("prompt"),
            prompt.replace_strict(parent, return_dtype=pl.Enum(list(QUESTIONS))).alias(
                "key_question"
            ),
            "answer",
        )
        .sort(*CASE_KEY, "prompt")
    )


def rationales_table(derived: pl.LazyFrame) -> pl.LazyFrame:
    """Long rationale text: one row per case x question with a rationale. Free text: stored
    for analysis, never published."""
    return (
        _long(derived, RATIONALE_PREFIX, "key_question", "rationale")
        .select(
            *CASE_KEY,
            pl.col("key_question").cast(pl.Enum(list(QUESTIONS))).alias("key_question"),
            "rationale",
        )
        .sort(*CASE_KEY, "key_question")
    )


def answers_table(derived: pl.LazyFrame) -> pl.LazyFrame:
    """Long answers: one row per case x key question with a recorded answer.

    Built as one block per key question (the case keys plus that question's column), so
    standard, theme and comparable id are constants of the block rather than lookups over ten
    million rows, and no sort is needed: given cases sorted by (inspection_id, case_id), rows
    come out ordered by (key_question, inspection_id, case_id). The framework's own question
    code (e.g. 'C1' in the dynamic inspection) depends on framework x key question.
    """
    catalogue = refdata.key_questions()
    generic = {
        r["key_question"]: r for r in catalogue.unique("key_question", keep="first").to_dicts()
    }
    kq_enum = pl.Enum(list(QUESTIONS))
    blocks = []
    for kq in QUESTIONS:
        codes = {
            f: c
            for f, k, c in catalogue.select("framework", "key_question", "kq_code").iter_rows()
            if k == kq
        }
        info = generic[kq]
        blocks.append(
            derived.select(*CASE_KEY, "framework", pl.col(kq).alias("answer"))
            .filter(pl.col("answer").is_not_null())
            .select(
                *CASE_KEY,
                "framework",
                pl.lit(kq, dtype=kq_enum).alias("key_question"),
                pl.col("framework")
                .cast(pl.String)
                .replace_strict(codes, default=None, return_dtype=pl.String)
                .alias("kq_code"),
                pl.lit(info["standard"], dtype=pl.Enum(list(ANSWER_STANDARDS))).alias("standard"),
                pl.lit(info["theme"] or None, dtype=pl.Enum(list(THEMES))).alias("theme"),
                pl.lit(info["comparable_id"]).alias("comparable_id"),
                "answer",
            )
        )
    return pl.concat(blocks)


def inspections_table(cases: pl.LazyFrame) -> pl.LazyFrame:
    """One row per inspection; region is 'England and Wales' for national inspections and
    'Multiple regions' where a pre-2021 footprint spans several of today's regions."""
    region = (
        pl.when(pl.col("inspection_type").first() == "national")
        .then(pl.lit(NATIONAL))
        .when(pl.col("region").n_unique() == 1)
        .then(pl.col("region").first().cast(pl.String))
        .otherwise(pl.lit(MULTIPLE_REGIONS))
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
            pl.col("regional_round").drop_nulls().first(),
            pl.len().alias("n_cases"),
            (pl.col("question_set") == "adjusted").sum().alias("n_cases_adjusted"),
            pl.col("synthetic").all(),
        )
        .sort("fieldwork_start", "inspection_id")
    )
