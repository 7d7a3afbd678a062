"""The publication tables: every statistic researchers publish, built in one place.

`build_tables` reads as the list of tables; each is computed by the module named for what it
holds (trends, comparisons, breakdowns, ratings) and passes disclosure control here, before
anything is written. The settings used (threshold, confidence level) travel with the tables, so
the workbook's notes always state the rules that were actually applied.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import polars as pl

from pipeline import refdata
from pipeline.analysis import attack, disclosure, measures
from pipeline.analysis.breakdowns import subgroups
from pipeline.analysis.cells import answers_in_context
from pipeline.analysis.cohorts import kq_cohort
from pipeline.analysis.comparisons import unification
from pipeline.analysis.funnels import funnel_table
from pipeline.analysis.its import its_table
from pipeline.analysis.practitioners import practitioner_effects
from pipeline.analysis.ratings import overall_table, published_ratings, standard_ratings
from pipeline.analysis.rounds import kq_round, regional_ratings
from pipeline.analysis.trends import kq_by_inspection, kq_trend
from pipeline.config import Settings

log = logging.getLogger(__name__)

FUNNEL_PROGRAMMES = ["crc_nps_2018", "pdu_2021", "pdu_regional_2023"]
"""Programmes funnels compare units within (each against England and Wales in the same one)."""


@dataclass
class Publication:
    """The disclosure-controlled publication tables and the settings they were built with."""

    tables: dict[str, pl.DataFrame]
    settings: Settings
    disclosure: disclosure.DisclosureReport | None = None

    def __getitem__(self, name: str) -> pl.DataFrame:
        return self.tables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)

    def items(self) -> Iterator[tuple[str, pl.DataFrame]]:
        return iter(self.tables.items())


PROMPT_SCHEMA = {
    "inspection_id": pl.String,
    "case_id": pl.String,
    "prompt": pl.String,
    "key_question": pl.String,
    "answer": pl.String,
}
RATIONALE_SCHEMA = {
    "inspection_id": pl.String,
    "case_id": pl.String,
    "key_question": pl.String,
    "rationale": pl.String,
}


def _or_empty(frame: pl.DataFrame | None, schema: dict) -> pl.DataFrame:
    """A block table, or an empty one with its columns (exports without the block)."""
    return pl.DataFrame(schema=schema) if frame is None else frame


def build_tables(
    cases: pl.DataFrame,
    answers: pl.DataFrame,
    inspections: pl.DataFrame,
    published: pl.DataFrame,
    threshold: int | None = None,
    settings: Settings | None = None,
    cohorts: pl.DataFrame | None = None,
    prompt_answers: pl.DataFrame | None = None,
    rationales: pl.DataFrame | None = None,
) -> Publication:
    """Every publication table, with disclosure control applied.

    `settings` defaults to reference/settings.csv; `threshold` overrides its suppression
    threshold (and is then what the workbook notes state). `cohorts` defaults to
    reference/cohorts.csv.
    """
    settings = settings or refdata.settings()
    cohorts = refdata.cohorts() if cohorts is None else cohorts
    if threshold is not None:
        settings = replace(settings, suppression_threshold=threshold)
    threshold, z = settings.suppression_threshold, settings.z
    # joined once: every table below starts from it, and each would otherwise repeat the join
    context = answers_in_context(cases.lazy(), answers.lazy()).collect().lazy()
    frames = measures.measure_frames(
        cases.lazy(),
        answers.lazy(),
        _or_empty(prompt_answers, PROMPT_SCHEMA).lazy(),
        _or_empty(rationales, RATIONALE_SCHEMA).lazy(),
    )
    unprotected = {
        "kq_by_inspection": kq_by_inspection(context, inspections, z),
        "kq_trend": kq_trend(context, z, settings),
        "unification": unification(context, settings),
        "subgroups": subgroups(context, z, settings),
        "kq_round": kq_round(context, inspections, settings),
        "kq_cohort": kq_cohort(context, inspections, cohorts, settings),
        **measures.measure_tables(frames, z, settings),
    }
    groupings = disclosure.Groupings.of(inspections, cohorts)
    suppression = disclosure.suppress(unprotected, context, frames, settings, groupings)
    attack.prepare()
    # The attack (HiGHS, which releases the GIL) runs in a worker thread while this thread fits
    # the models: on two cores that hides most of its time. A breach still stops the run here.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="disclosure-attack") as pool:
        audited = pool.submit(suppression.audited)
        tables = _unaudited_tables(suppression.published, unprotected, context, published, settings)
        report = audited.result()
    for name, table in tables.items():
        log.info("table %s: %d rows", name, table.height)
    return Publication(tables, settings, report)


def _unaudited_tables(
    protected: dict[str, pl.DataFrame],
    unprotected: dict[str, pl.DataFrame],
    context: pl.LazyFrame,
    published: pl.DataFrame,
    settings: Settings,
) -> dict[str, pl.DataFrame]:
    """The protected tables plus those built from them or from models (estimates only)."""
    rated = disclosure.follow_inspection_cells(
        standard_ratings(unprotected["kq_by_inspection"]), protected["kq_by_inspection"]
    )
    return {
        **protected,
        "its": its_table(context, settings),
        "practitioner_effects": practitioner_effects(context, settings),
        "funnel": funnel_table(
            protected["kq_by_inspection"], protected["kq_trend"], FUNNEL_PROGRAMMES
        ),
        "ratings": rated,
        "ratings_overall": overall_table(rated, unprotected["kq_by_inspection"]),
        "regional_ratings": regional_ratings(protected["kq_round"], published),
        "published_ratings": published_ratings(published),
    }
