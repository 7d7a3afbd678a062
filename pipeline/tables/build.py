"""The tables: every statistic researchers analyse, and what a release of them publishes.

Two products, built from the same functions (docs/architecture.md):

* `build_analysis` (for `probation run`): every table at full precision with its real counts,
  for the team's own analysis inside its secure area. It is **not for publication**; nothing
  is suppressed (each row says `suppressed = false`), and it never fails because a
  publication could not be protected.
* A release (`disclosure/release_tables.py`, for `probation release`) builds the same cell
  tables, puts them under disclosure control, and builds the tables derived from them and the
  model tables under their declared rules (`registry.py`), with the functions here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np
import polars as pl

from pipeline import refdata
from pipeline.config import Settings
from pipeline.tables import marking, measures, registry, same_area
from pipeline.tables.breakdowns import subgroups
from pipeline.tables.cells import answers_in_context
from pipeline.tables.cohorts import kq_cohort
from pipeline.tables.comparisons import unification
from pipeline.tables.dipp_bridge import dipp_bridge
from pipeline.tables.funnels import funnel_table
from pipeline.tables.its import its_table
from pipeline.tables.practitioners import practitioner_effects
from pipeline.tables.published_checks import rating_movement, rule_check
from pipeline.tables.ratings import overall_table, published_ratings, standard_ratings
from pipeline.tables.rounds import kq_round, regional_ratings
from pipeline.tables.trends import kq_by_inspection, kq_trend

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
    disclosure: Any = None
    """A release's disclosure report (`disclosure.policy.DisclosureReport`); None for analysis."""
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
    cases: pl.LazyFrame
    """The accepted cases (the needs block is read from their wide columns)."""

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
            cases.lazy(),
        )


def settings_with(settings: Settings | None, threshold: int | None) -> Settings:
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
        "same_area": same_area.same_area(data.context, data.inspections, settings),
        "same_area_needs": same_area.same_area_needs(data.cases, data.inspections, settings),
        "dipp_bridge": dipp_bridge(data.context, data.inspections, settings),
        **measures.measure_tables(data.frames, z, settings),
    }
    missing = set(registry.names(registry.Protection.SUPPRESSED)) - set(tables)
    if missing:
        raise registry.UndeclaredTable(f"no builder for declared table(s): {sorted(missing)}")
    return tables


def fact_tables(data: CaseData) -> dict[str, pl.DataFrame]:
    """The registry's INSPECTION_FACTS tables (the same in analysis and release)."""
    return {"same_area_matching": same_area.matching(data.inspections, data.context)}


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
    rated = marking.follow_inspection_cells(
        standard_ratings(unsuppressed_by_inspection), cells["kq_by_inspection"]
    )
    return {
        "funnel": funnel_table(cells["kq_by_inspection"], cells["kq_trend"], FUNNEL_PROGRAMMES),
        "ratings": rated,
        "ratings_overall": overall_table(rated, cells["kq_by_inspection"]),
        "regional_ratings": regional_ratings(cells["kq_round"], published),
        "published_ratings": published_ratings(published),
        "rating_rules_check": rule_check(published),
        "rating_movement": rating_movement(published, rated),
    }


def _unsuppressed(table: pl.DataFrame) -> pl.DataFrame:
    """A cell table as the analysis product holds it: every row visible, and marked so."""
    return marking.apply(
        table, np.zeros(table.height, dtype=bool), np.full(table.height, None, dtype=object)
    )


def build_analysis(
    data: CaseData, published: pl.DataFrame, settings: Settings | None = None
) -> Publication:
    """Every table for the team's analysis: full precision, real counts, nothing suppressed."""
    settings = settings_with(settings, None)
    raw = cell_tables(data, settings)
    cells = {name: _unsuppressed(table) for name, table in raw.items()}
    tables = {
        **cells,
        **model_tables(data, settings),
        **fact_tables(data),
        **derived_tables(cells, raw["kq_by_inspection"], published),
    }
    return Publication(in_registry_order(tables), settings, status=Status.INTERNAL)


def in_registry_order(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Registry order; a table the registry does not declare is refused."""
    registry.require_declared(tables)
    missing = [t.name for t in registry.TABLES if t.name not in tables]
    if missing:
        raise registry.UndeclaredTable(f"declared table(s) not built: {', '.join(missing)}")
    return {t.name: tables[t.name] for t in registry.TABLES}
