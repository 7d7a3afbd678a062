"""Case measures beyond the key questions: enquiries, prompts, management oversight and
rationale themes, each a share of relevant cases by scope and period.

Every measure is built from a long frame (measure, series, inspection_id, region, programme,
financial year, era, answer) by one function, so the same clustered intervals and the same
disclosure control (linked_cells.measure_atoms) apply to all of them.
"""

from __future__ import annotations

import polars as pl

from pipeline import refdata
from pipeline.config import Settings
from pipeline.domain import NEED_PREFIX, THEMES
from pipeline.tables import rationale_coder
from pipeline.tables.cells import (
    cluster_columns,
    count_answers,
    ordered,
    pooled_icc,
    scopes,
    series_expr,
    sum_counts,
    with_cluster_interval,
    with_wilson,
)
from pipeline.tables.same_area import SIDE, sides

MEASURE_PERIODS = ("financial_year", "programme", "era", SIDE)
"""Periods a measure may be published by (a subset per table, see MEASURE_TABLES); every one
is a column of the atoms."""
FAMILY = ["measure", "series"]
STRATA = ["region", "programme"]
MEASURE_TABLES: dict[str, tuple[str, ...]] = {
    "enquiries": ("financial_year", "programme", "era"),
    "prompts": ("programme", "era"),
    "oversight": ("financial_year", "programme", "era"),
    "rationale_themes": ("era",),
    "needs": ("programme", "era", SIDE),
}
"""The measure tables and the periods each is published by. Rationale themes are counted by
era only: a theme is rare enough that programme or year cells would mostly be suppressed.
Needs are also counted by the sides of the same-area comparison (`same_area`)."""
NATIONAL_ONLY = frozenset({"prompts"})
"""Measure tables published for England and Wales only. HMIP reports prompt-level figures
nationally (seed 003); by region they would rest on a few cases per inspection round, most
regional cells would be suppressed, and protecting the rest would hide national ones."""
CONTEXT = ("inspection_id", "case_id", "region", "programme", "financial_year", "era", SIDE)


def _with_side(cases: pl.LazyFrame) -> pl.LazyFrame:
    """Cases with their side of the same-area comparison (`same_area`, null outside it)."""
    cases = cases.with_columns(pl.col("region").cast(pl.String))
    chosen = sides(cases, cases.select("inspection_id", "region"))
    return cases.join(chosen, on=["inspection_id", "region"], how="left")


def _context(cases: pl.LazyFrame, core_only: bool = True) -> pl.LazyFrame:
    """Case context every measure frame carries (core question set only, as the key
    questions: adjusted-set cases are judged against different expectations)."""
    frame = cases.filter(pl.col("question_set") == "core") if core_only else cases
    return _with_side(frame).select(
        *[pl.col(c).cast(pl.String) if c != "case_id" else pl.col(c) for c in CONTEXT],
        series_expr(),
        "synthetic",
    )


def enquiry_frame(cases: pl.LazyFrame) -> pl.LazyFrame:
    """Domestic abuse and child safeguarding enquiries among cases with the concern flagged
    (every question set: an enquiry is a fact, not a judgement against a standard)."""
    base = _with_side(cases).with_columns(
        series_expr(), *[pl.col(c).cast(pl.String) for c in CONTEXT[2:]]
    )
    parts = [
        base.filter(pl.col(flag)).select(
            pl.lit(measure).alias("measure"),
            *CONTEXT,
            "series",
            "synthetic",
            pl.col(measure).cast(pl.String).alias("answer"),
        )
        for measure, flag in (("da_enquiry", "da_concern"), ("cs_enquiry", "cs_concern"))
    ]
    return pl.concat(parts)


def prompt_frame(prompt_answers: pl.LazyFrame, cases: pl.LazyFrame) -> pl.LazyFrame:
    """Prompt answers with their case's context; the measure is the prompt code."""
    return prompt_answers.join(_context(cases), on=["inspection_id", "case_id"]).select(
        pl.col("prompt").cast(pl.String).alias("measure"),
        *CONTEXT,
        "series",
        "synthetic",
        pl.col("answer").cast(pl.String),
    )


def oversight_frame(cases: pl.LazyFrame) -> pl.LazyFrame:
    """Management oversight judged sufficient, among cases where it was assessed."""
    context = _context(cases).join(
        cases.select("inspection_id", "case_id", "management_oversight"),
        on=["inspection_id", "case_id"],
    )
    return context.filter(pl.col("management_oversight").is_not_null()).select(
        pl.lit("management_oversight").alias("measure"),
        *CONTEXT,
        "series",
        "synthetic",
        pl.col("management_oversight").cast(pl.String).alias("answer"),
    )


NEED_MEASURES = {"identified": "identified", "met": "addressed"}
"""Need measures and the contract column stage each reads: identified (among people with the
need) and met (the need addressed, among people with the need)."""


def need_frame(cases: pl.LazyFrame) -> pl.LazyFrame:
    """Needs identified and met, one row per case x area x measure, measure '<area>|<measure>';
    'na' (not a need for this person) is counted as not applicable. One unpivot of the wide
    need columns, joined to the case context once."""
    present = cases.collect_schema()
    codes = {
        f"{NEED_PREFIX}{area}_{stage}": f"{area}|{measure}"
        for area in refdata.needs()["need"].to_list()
        for measure, stage in NEED_MEASURES.items()
    }
    columns = [c for c in codes if c in present]
    if not columns:
        return _empty_measure(cases)
    keys = ["inspection_id", "case_id"]
    long = (
        cases.select(*keys, *[pl.col(c).cast(pl.String) for c in columns])
        .unpivot(columns, index=keys, variable_name="measure", value_name="answer")
        .filter(pl.col("answer").is_not_null())
        .with_columns(pl.col("measure").replace_strict(codes, return_dtype=pl.String))
    )
    return (
        _context(cases)
        .join(long, on=keys)
        .select("measure", *CONTEXT, "series", "synthetic", "answer")
    )


def _empty_measure(cases: pl.LazyFrame) -> pl.LazyFrame:
    """A measure frame with no rows (an export without the optional block)."""
    return oversight_frame(cases).clear()


def _question_group() -> pl.Expr:
    """The theme of a key question (engagement, desistance, safety), or the standard for the
    single-question standards (court work, resettlement)."""
    question = pl.col("key_question").cast(pl.String)
    theme = question.str.extract(r"_(" + "|".join(THEMES) + r")$")
    return pl.coalesce(theme, question)


def theme_frame(
    rationales: pl.LazyFrame, answers: pl.LazyFrame, cases: pl.LazyFrame
) -> pl.LazyFrame:
    """Per case x question group x judgement x theme: does any of the case's rationales in the
    group carry the theme ('yes') or not ('no'). The unit is the case, so a count is a count of
    people, not of rationales; the measure is 'theme|group|judgement'."""
    question = pl.col("key_question").cast(pl.String)
    judged = (
        rationales.with_columns(question)
        .join(
            answers.select("inspection_id", "case_id", question, "answer"),
            on=["inspection_id", "case_id", "key_question"],
        )
        .filter(pl.col("answer").cast(pl.String).is_in(["yes", "no"]))
    )
    keys = ["inspection_id", "case_id", "group", "judgement"]
    units = judged.select(
        "inspection_id",
        "case_id",
        _question_group().alias("group"),
        pl.col("answer").cast(pl.String).alias("judgement"),
    ).unique()
    text = judged.select("inspection_id", "case_id", "key_question", "rationale")
    mentions = (
        rationale_coder.coded(text)
        .join(judged.select("inspection_id", "case_id", "key_question", "answer"),
              on=["inspection_id", "case_id", "key_question"])
        .select(
            "inspection_id", "case_id", _question_group().alias("group"),
            pl.col("answer").cast(pl.String).alias("judgement"), "theme",
        )
        .unique()
        .with_columns(pl.lit(True).alias("_has"))
    )  # fmt: skip
    themes = pl.LazyFrame({"theme": refdata.rationale_themes()["theme"].unique().sort()})
    grid = units.join(themes, how="cross").join(mentions, on=[*keys, "theme"], how="left")
    return grid.join(_context(cases), on=["inspection_id", "case_id"]).select(
        pl.concat_str("theme", "group", "judgement", separator="|").alias("measure"),
        *CONTEXT,
        "series",
        "synthetic",
        pl.when(pl.col("_has").fill_null(False)).then(pl.lit("yes")).otherwise(pl.lit("no"))
        .alias("answer"),
    )  # fmt: skip


def measure_frames(
    cases: pl.LazyFrame,
    answers: pl.LazyFrame,
    prompt_answers: pl.LazyFrame,
    rationales: pl.LazyFrame,
) -> dict[str, pl.LazyFrame]:
    """The long frame behind every measure table (also what disclosure control needs)."""
    return MeasureFrames(
        {
            "enquiries": enquiry_frame(cases),
            "prompts": prompt_frame(prompt_answers, cases),
            "oversight": oversight_frame(cases),
            "rationale_themes": theme_frame(rationales, answers, cases),
            "needs": need_frame(cases),
        }
    )


class MeasureFrames(dict[str, pl.LazyFrame]):
    """The measure frames by table, each counted to atoms at most once: the tables and the
    disclosure control both start from the atoms, and at scale counting them (joining millions
    of answers to their cases) is one of the tables stage's larger costs."""

    def __init__(self, frames: dict[str, pl.LazyFrame]) -> None:
        super().__init__(frames)
        self._atoms: dict[str, pl.DataFrame] = {}

    def atoms(self, name: str) -> pl.DataFrame:
        """`measure_atoms` of one table's frame, counted on first use."""
        if name not in self._atoms:
            self._atoms[name] = measure_atoms(self[name])
        return self._atoms[name]


def atoms_of(frames: dict[str, pl.LazyFrame], name: str) -> pl.DataFrame:
    """A table's atoms: counted once if `frames` came from `measure_frames`."""
    if isinstance(frames, MeasureFrames):
        return frames.atoms(name)
    return measure_atoms(frames[name])


def measure_atoms(frame: pl.LazyFrame) -> pl.DataFrame:
    """Answers counted per measure x series x inspection x region (with the periods): the
    finest pieces a measure table adds up."""
    grain = ["measure", "series", "region", "inspection_id", *MEASURE_PERIODS]
    return count_answers(frame, grain).collect()


def measure_table(
    frame: pl.LazyFrame,
    periods: tuple[str, ...] = MEASURE_PERIODS,
    z: float | None = None,
    settings: Settings | None = None,
    regional: bool = True,
    atoms: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """A measure's share of relevant cases by scope and period, with clustered and Wilson
    intervals (England and Wales only unless `regional`). `atoms`: the frame's
    `measure_atoms`, when already counted."""
    atoms = measure_atoms(frame) if atoms is None else atoms
    icc = pooled_icc(atoms, FAMILY, STRATA)
    expanded = pl.concat(
        [
            scopes(atoms.lazy(), regional).with_columns(
                pl.lit(t).alias("period_type"), pl.col(t).cast(pl.String).alias("period")
            )
            for t in periods
        ]
    ).filter(pl.col("period").is_not_null())  # e.g. inspections outside the same-area sides
    keys = ["measure", "series", "scope", "period_type", "period"]
    clusters = cluster_columns(expanded, keys, icc, FAMILY)
    table = sum_counts(expanded, keys).join(clusters, on=keys, how="left", nulls_equal=True)
    return ordered(with_cluster_interval(with_wilson(table.collect(), z=z), settings), keys)


def measure_tables(
    frames: dict[str, pl.LazyFrame], z: float | None = None, settings: Settings | None = None
) -> dict[str, pl.DataFrame]:
    """Every measure table, labelled (prompt wording and parent question; theme, question
    group and judgement for rationale themes)."""
    tables = {
        name: measure_table(
            frames[name], periods, z, settings, name not in NATIONAL_ONLY, atoms_of(frames, name)
        )
        for name, periods in MEASURE_TABLES.items()
    }
    tables["prompts"] = _label_prompts(tables["prompts"])
    tables["rationale_themes"] = _label_themes(tables["rationale_themes"])
    tables["needs"] = _label_needs(tables["needs"])
    keys = ["measure", "series", "scope", "period_type", "period"]
    return {name: ordered(table, keys) for name, table in tables.items()}


def _label_prompts(table: pl.DataFrame) -> pl.DataFrame:
    prompts = refdata.prompts().select(
        pl.col("prompt").alias("measure"),
        pl.col("key_question").alias("parent_question"),
        pl.col("wording").alias("prompt_wording"),
    )
    return table.join(prompts, on="measure", how="left")


def _label_needs(table: pl.DataFrame) -> pl.DataFrame:
    parts = pl.col("measure").str.split("|")
    labels = refdata.needs().select("need", pl.col("label").alias("need_label"))
    return table.with_columns(
        parts.list.get(0).alias("need"), parts.list.get(1).alias("need_measure")
    ).join(labels, on="need", how="left")


def _label_themes(table: pl.DataFrame) -> pl.DataFrame:
    parts = pl.col("measure").str.split("|")
    labels = (
        refdata.rationale_themes()
        .unique("theme", keep="first")
        .select("theme", pl.col("label").alias("theme_label"))
    )
    return table.with_columns(
        parts.list.get(0).alias("theme"),
        parts.list.get(1).alias("question_group"),
        parts.list.get(2).alias("judgement"),
    ).join(labels, on="theme", how="left")
