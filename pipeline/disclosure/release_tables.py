"""The tables of a release: disclosure control over the analysis product's builders.

Built from the same case data and functions as the analysis (`tables.build`), then protected
as each table declares (`tables.registry`): counted cells suppressed (revisions against the
series' earlier releases included) and attacked, derived tables from published cells only,
model tables under their rules, second-moment statistics at reader precision.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import polars as pl

from pipeline.config import Settings
from pipeline.disclosure import attack
from pipeline.disclosure import policy as disclosure
from pipeline.tables import build, registry
from pipeline.tables.build import CaseData, Publication, Status, in_registry_order, settings_with


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
    settings = settings_with(settings, threshold)
    raw = build.cell_tables(data, settings)
    suppression = disclosure.suppress(
        raw, data.context, data.frames, settings, _groupings(data), earlier
    )
    attack.prepare()
    # The attack (HiGHS, which releases the GIL) runs in a worker thread while this thread
    # builds the other tables: on two cores that hides most of its time.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="disclosure-attack") as pool:
        audited = pool.submit(suppression.audited)
        derived = build.derived_tables(suppression.published, raw["kq_by_inspection"], published)
        cells = {n: registry.CELL_PRECISION.apply(t) for n, t in suppression.published.items()}
        tables = {**cells, **_released_models(models), **build.fact_tables(data), **derived}
        report = audited.result()
    return Publication(in_registry_order(tables), settings, report, Status.RELEASE)


def _released_models(models: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Each MODEL table under its declared rule; a missing one is a defect."""
    out = {}
    for name in registry.names(registry.Protection.MODEL):
        rule = registry.spec(name).model_rule
        assert rule is not None  # guaranteed by TableSpec
        out[name] = rule.apply(models[name])
    return out


def _groupings(data: CaseData) -> disclosure.Groupings:
    """The inspection-level groupings (rounds, cohorts) some tables pool over."""
    return disclosure.Groupings.of(data.inspections, data.cohorts, data.context)
