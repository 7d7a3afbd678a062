"""Builders for small case exports used across the stage tests."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline import refdata
from pipeline.disclosure import release_tables
from pipeline.domain import KEY_QUESTIONS
from pipeline.tables import build as tables
from pipeline.tables.build import Publication


def valid_row(**overrides: str | None) -> dict[str, str | None]:
    """One canonical, valid post-unification case row (all text), with overrides."""
    row: dict[str, str | None] = {
        "inspection_id": "PDU-2022-test",
        "inspection_type": "pdu",
        "framework": "2021",
        "unit_name": "Test PDU",
        "region": "London",
        "provider": "PS",
        "fieldwork_start": "2022-05-09",
        "fieldwork_end": "2022-05-20",
        "publication_date": "2022-08-01",
        "case_id": "X1",
        "case_type": "community",
        "question_set": "core",
        "start_date": "2021-11-01",
        "rosh": "medium",
        "mappa_level": "0",
        "gender": "male",
        "ethnicity": "white",
        "age_band": "25-34",
        "da_concern": "true",
        "cs_concern": "false",
        "da_enquiry": "yes",
        "cs_enquiry": "na",
    }
    row.update(dict.fromkeys(KEY_QUESTIONS, "yes"))
    row.update(overrides)
    return row


def rows_frame(rows: list[dict[str, str | None]]) -> pl.DataFrame:
    columns = refdata.contract_columns()["column"].to_list()
    return pl.DataFrame(
        [{c: r.get(c) for c in columns} for r in rows], schema=dict.fromkeys(columns, pl.String)
    )


def write_csv(path: Path, rows: list[dict[str, str | None]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows_frame(rows).write_csv(path)
    return path


def released(
    cases: pl.DataFrame,
    answers: pl.DataFrame,
    inspections: pl.DataFrame,
    published: pl.DataFrame,
    threshold: int | None = None,
    prompt_answers: pl.DataFrame | None = None,
    rationales: pl.DataFrame | None = None,
) -> Publication:
    """The tables a release of these case tables would publish (nothing written)."""
    data = tables.CaseData.of(
        cases, answers, inspections, prompt_answers=prompt_answers, rationales=rationales
    )
    models = tables.model_tables(data, refdata.settings())
    return release_tables.build_release(data, models, published, threshold=threshold)
