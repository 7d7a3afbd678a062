"""The tables: every statistic researchers analyse, and what a release of them publishes.

Two products, built from the same functions (docs/architecture.md):

* `build_analysis` (for `probation run`): every table at full precision with its real counts,
  for the team's own analysis inside its secure area. It is **not for publication**; nothing
  is suppressed (each row says `suppressed = false`), and it never fails because a
  publication could not be protected.
* `build_release` (for `probation release`): the same cell tables under disclosure control,
  revisions included, the tables built from them, and the model tables under their declared
  rules (`registry.py`). A table the registry does not declare cannot be released.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
import polars as pl

from pipeline import refdata
from pipeline.analysis import attack, disclosure, measures, registry
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


class Status(StrEnum):
    """What a set of tables is: the team's analysis, or a release for the public."""

    INTERNAL = "internal, unsuppressed: not for publication"
    RELEASE = "released under disclosure control"


@dataclass
class Publication:
    """A set of tables, the settings they were built with, and what they are (`status`)."""

    tables: dict[str, pl.DataFrame]
    settings: Settings
    disclosure: disclosure.DisclosureReport | None = None
    status: Status = Status.INTERNAL

    def __post_init__(self) -> None:
        registry.require_declared(self.tables)

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


def _or_empty(frame: pl.DataFrame | None, schema: Mapping[str, type[pl.DataType]]) -> pl.DataFrame:
    """A block table, or an empty one with its columns (exports without the block)."""
    return pl.DataFrame(schema=schema) if frame is None else frame


@dataclass
class CaseData:
    """The case tables every table is built from, joined once (each table would otherwise
    repeat the join), with the cohort definitions in force."""

    context: pl.LazyFrame
    frames: dict[str, pl.LazyFrame]
    inspections: pl.DataFrame
    cohorts: pl.DataFrame

    @classmethod
    def of(
        cls,
        cases: pl.DataFrame,
        answers: pl.DataFrame,
        inspections: pl.DataFrame,
        cohorts: pl.DataFrame | None = None,
        prompt_answers: pl.DataFrame | None = None,
        rationales: pl.DataFrame | None = None,
    ) -> CaseData:
        """`cohorts` defaults to reference/cohorts.csv."""
        return cls(
            answers_in_context(cases.lazy(), answers.lazy()).collect().lazy(),
            measures.measure_frames(
                cases.lazy(),
                answers.lazy(),
                _or_empty(prompt_answers, PROMPT_SCHEMA).lazy(),
                _or_empty(rationales, RATIONALE_SCHEMA).lazy(),
            ),
            inspections,
            refdata.cohorts() if cohorts is None else cohorts,
        )

    def groupings(self) -> disclosure.Groupings:
        return disclosure.Groupings.of(self.inspections, self.cohorts)


def _settings(settings: Settings | None, threshold: int | None) -> Settings:
    settings = settings or refdata.settings()
    return settings if threshold is None else replace(settings, suppression_threshold=threshold)


def cell_tables(data: CaseData, settings: Settings) -> dict[str, pl.DataFrame]:
    """The tables of counted cells (the registry's SUPPRESSED tables), unsuppressed."""
    z = settings.z
    tables = {
        "kq_by_inspection": kq_by_inspection(data.context, data.inspections, z),
        "kq_trend": kq_trend(data.context, z, settings),
        "unification": unification(data.context, settings),
        "subgroups": subgroups(data.context, z, settings),
        "kq_round": kq_round(data.context, data.inspections, settings),
        "kq_cohort": kq_cohort(data.context, data.inspections, data.cohorts, settings),
        **measures.measure_tables(data.frames, z, settings),
    }
    missing = set(disclosure.PROTECTED_TABLES) - set(tables)
    if missing:
        raise registry.UndeclaredTable(f"no builder for declared table(s): {sorted(missing)}")
    return tables


def model_tables(data: CaseData, settings: Settings) -> dict[str, pl.DataFrame]:
    """The registry's MODEL tables at full precision (a release applies their rules)."""
    return {
        "its": its_table(data.context, settings),
        "practitioner_effects": practitioner_effects(data.context, settings),
    }


def derived_tables(
    cells: dict[str, pl.DataFrame],
    unsuppressed_by_inspection: pl.DataFrame,
    published: pl.DataFrame,
) -> dict[str, pl.DataFrame]:
    """The registry's FROM_PROTECTED and NOT_CASE_DATA tables, from `cells` as they are
    published (suppressed rows blanked) and the real published figures."""
    rated = disclosure.follow_inspection_cells(
        standard_ratings(unsuppressed_by_inspection), cells["kq_by_inspection"]
    )
    return {
        "funnel": funnel_table(cells["kq_by_inspection"], cells["kq_trend"], FUNNEL_PROGRAMMES),
        "ratings": rated,
        "ratings_overall": overall_table(rated, cells["kq_by_inspection"]),
        "regional_ratings": regional_ratings(cells["kq_round"], published),
        "published_ratings": published_ratings(published),
    }


def _unsuppressed(table: pl.DataFrame) -> pl.DataFrame:
    """A cell table as the analysis product holds it: every row visible, and marked so."""
    return disclosure.apply(
        table, np.zeros(table.height, dtype=bool), np.full(table.height, None, dtype=object)
    )


def build_analysis(
    data: CaseData, published: pl.DataFrame, settings: Settings | None = None
) -> Publication:
    """Every table for the team's analysis: full precision, real counts, nothing suppressed."""
    settings = _settings(settings, None)
    raw = cell_tables(data, settings)
    cells = {name: _unsuppressed(table) for name, table in raw.items()}
    tables = {
        **cells,
        **model_tables(data, settings),
        **derived_tables(cells, raw["kq_by_inspection"], published),
    }
    return Publication(_in_registry_order(tables), settings, status=Status.INTERNAL)


def build_release(
    data: CaseData,
    models: dict[str, pl.DataFrame],
    published: pl.DataFrame,
    settings: Settings | None = None,
    earlier: list[dict[str, pl.DataFrame]] | None = None,
    threshold: int | None = None,
) -> Publication:
    """Every table as released: cells suppressed (revisions against the `earlier` releases
    of the series included, oldest first) and
    attacked, derived tables from published cells only, model tables under their rules.

    `models` are the analysis run's MODEL tables. Raises `DisclosureBreach` when the attack
    finds anything, so nothing unprotected can be returned."""
    settings = _settings(settings, threshold)
    raw = cell_tables(data, settings)
    suppression = disclosure.suppress(
        raw, data.context, data.frames, settings, data.groupings(), earlier
    )
    attack.prepare()
    # The attack (HiGHS, which releases the GIL) runs in a worker thread while this thread
    # builds the other tables: on two cores that hides most of its time.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="disclosure-attack") as pool:
        audited = pool.submit(suppression.audited)
        derived = derived_tables(suppression.published, raw["kq_by_inspection"], published)
        cells = {n: registry.CELL_PRECISION.apply(t) for n, t in suppression.published.items()}
        tables = {**cells, **_released_models(models), **derived}
        report = audited.result()
    return Publication(_in_registry_order(tables), settings, report, Status.RELEASE)


def _released_models(models: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Each MODEL table under its declared rule; a missing one is a defect."""
    out = {}
    for name in registry.names(registry.Protection.MODEL):
        rule = registry.spec(name).model_rule
        assert rule is not None  # guaranteed by TableSpec
        out[name] = rule.apply(models[name])
    return out


def _in_registry_order(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Registry order; a table the registry does not declare is refused."""
    registry.require_declared(tables)
    missing = [t.name for t in registry.TABLES if t.name not in tables]
    if missing:
        raise registry.UndeclaredTable(f"declared table(s) not built: {', '.join(missing)}")
    return {t.name: tables[t.name] for t in registry.TABLES}
