"""The DuckDB database: every stored and publication table in one file for SQL users, documented
inside the file (COMMENT ON every table and column, from the data dictionary's sources), with
lookup tables (codes and labels, questions and prompts with their wording, regions, programmes),
views for common questions, and a `user` schema for researchers' own tables and views that is
carried over from the previous database when a run replaces it."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import polars as pl

USER_SCHEMA = "user"
"""Researchers' own objects: everything in this schema is copied into the new database by the
next run (a view that no longer works against the new tables is reported and left out)."""

VIEWS = {
    "safety_before_after_by_region": (
        "Keeping-people-safe key questions before and after unification, by area: the levels, "
        "the change allowing for case mix with its interval, and whether it is a clear "
        "difference after allowing for multiple comparisons.",
        """SELECT scope AS area, key_question, standard, pct_pre, pct_post, adjusted_diff_pp,
                  adjusted_ci_low, adjusted_ci_high, significant_holm, comparison_note
           FROM unification WHERE theme = 'safety' ORDER BY area, standard""",
    ),
    "latest_rating_per_unit": (
        "The most recent case-based rating of each unit and standard (PDU, CRC and NPS case "
        "standards only).",
        """SELECT * EXCLUDE (rn) FROM (
             SELECT *, row_number() OVER (PARTITION BY inspection_id, standard
                                          ORDER BY fieldwork_start DESC) AS rn
             FROM ratings) WHERE rn = 1""",
    ),
    "trend_by_year_visible": (
        "Calendar-year sufficiency for every area and key question, published cells only.",
        """SELECT series, scope AS area, key_question, period AS year, pct, ci_cluster_low,
                  ci_cluster_high, n_applicable, n_inspections, low_reliability
           FROM kq_trend WHERE period_type = 'calendar_year' AND NOT suppressed""",
    ),
}
"""Views for common questions: name -> (description, SQL)."""


def build_duckdb(
    path: Path,
    tables: dict[str, Path],
    memory_limit: str = "1GB",
    previous: Path | None = None,
) -> list[str]:
    """One DuckDB file holding every table, loaded from the Parquet files just written.

    Loading from Parquet (rather than from in-memory frames) lets the pipeline free its frames
    first, and DuckDB streams the files under a memory limit. Polars enums arrive as text in
    Parquet, so their levels are re-applied as DuckDB ENUM types from the Parquet schema.
    `previous` is the database being replaced: its `user` schema is carried over. Returns
    messages about user objects that could not be carried over.
    """
    if path.exists():
        path.unlink()
    # Insertion order is not kept: SQL tables are unordered (queries say ORDER BY), and
    # dropping it nearly halves load time for ten million answers.
    con = duckdb.connect(
        str(path), config={"memory_limit": memory_limit, "preserve_insertion_order": False}
    )
    try:
        con.execute("SET enable_progress_bar = false")
        for name, parquet in tables.items():
            schema = pl.read_parquet_schema(parquet)
            source = "read_parquet('" + str(parquet).replace("'", "''") + "')"
            con.execute(f'CREATE TABLE "{name}" AS SELECT {_select_list(schema)} FROM {source}')
        _lookups(con)
        _comments(con)
        _views(con)
        return _carry_user_schema(con, previous)
    finally:
        con.close()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _lookups(con: duckdb.DuckDBPyConnection) -> None:
    """Lookup tables: code labels, questions, prompts, regions, programmes."""
    from pipeline import refdata

    lookups = {
        "lookup_codes": (
            refdata._read("codes.csv"),
            "Every code a table may hold, with its label (column = the column it belongs to).",
        ),
        "lookup_key_questions": (
            refdata.key_questions(),
            "Key questions by framework with HMIP's wording and the source of the wording.",
        ),
        "lookup_prompts": (refdata.prompts(), "Prompts under the key questions, with wording."),
        "lookup_regions": (refdata.regions(), "The 12 probation regions and their codes."),
        "lookup_programmes": (refdata.programmes(), "Inspection programmes and their labels."),
    }
    for name, (frame, description) in lookups.items():
        arrow = frame.to_arrow()  # noqa: F841 - read by DuckDB through the variable name
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM arrow')
        con.execute(f'COMMENT ON TABLE "{name}" IS {_quote(description)}')


LOOKUP_COLUMNS = {
    "code": "The code as stored in the tables",
    "label": "The code's label for readers",
    "order": "Sort order for display",
    "standard_name": "The standard's name in the framework",
    "standard_code": "The standard's number in the framework",
    "question_text": "HMIP's wording of the key question",
    "wording_verified": "True where the wording is quoted from a source, false where paraphrased",
    "source": "Where the row comes from",
    "programme_label": "The programme's label for readers",
    "regional_cells": "True where the programme's cases count towards regional figures",
    "frameworks": "Frameworks that ask the prompt (separated by ;)",
    "applies_when": "The cases the prompt applies to ('all' or the flag that must be set)",
    "slug": "The region's name as used in folder names",
    "nation": "England or Wales",
    "name_verified": "True where the name is checked against an HMIP source",
}
"""Meanings of lookup-table columns not described in the data dictionary."""


INTERNAL_NOTE = "INTERNAL, UNSUPPRESSED: not for publication (publish from a release)."
"""Prefix of every table comment: the database is the team's analysis product."""


def _comments(con: duckdb.DuckDBPyConnection) -> None:
    """COMMENT ON every table and column that has a description in the data dictionary."""
    from pipeline.outputs import dictionary
    from pipeline.tables.registry import BY_NAME as TABLE_INFO

    known = dictionary.descriptions()
    tables = {
        **dictionary.STORED_TABLES,
        **{k: f"{INTERNAL_NOTE} {v.title}. {v.description}" for k, v in TABLE_INFO.items()},
    }
    rows = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE schema_name = 'main' AND NOT internal"
    ).fetchall()
    for table in {t for t, _ in rows}:
        if table in tables:
            con.execute(f'COMMENT ON TABLE "{table}" IS {_quote(tables[table])}')
    for table, column in rows:
        meaning = dictionary.describe(table, column, known)
        if table.startswith("lookup_"):
            meaning = LOOKUP_COLUMNS.get(column) or meaning
        if meaning:
            con.execute(f'COMMENT ON COLUMN "{table}"."{column}" IS {_quote(meaning)}')


def _views(con: duckdb.DuckDBPyConnection) -> None:
    present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    for name, (description, sql) in VIEWS.items():
        needed = set(re.findall(r"\bFROM\s+(\w+)", sql)) - {"SELECT"}
        if needed <= present:
            con.execute(f'CREATE VIEW "{name}" AS {sql}')
            con.execute(f'COMMENT ON VIEW "{name}" IS {_quote(description)}')


def _carry_user_schema(con: duckdb.DuckDBPyConnection, previous: Path | None) -> list[str]:
    """Copy the previous database's `user` schema (tables, then views) into this one."""
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{USER_SCHEMA}"')
    if previous is None or not previous.exists():
        return []
    messages: list[str] = []
    try:
        con.execute(f"ATTACH {_quote(str(previous))} AS previous (READ_ONLY)")
    except duckdb.Error as exc:
        return [f"the previous database could not be opened, so its user schema is lost: {exc}"]
    try:
        tables = con.execute(
            "SELECT table_name FROM duckdb_tables() "
            f"WHERE database_name = 'previous' AND schema_name = {_quote(USER_SCHEMA)}"
        ).fetchall()
        for (table,) in tables:
            con.execute(
                f'CREATE TABLE "{USER_SCHEMA}"."{table}" AS '
                f'SELECT * FROM previous."{USER_SCHEMA}"."{table}"'
            )
        views = con.execute(
            "SELECT view_name, sql FROM duckdb_views() "
            f"WHERE database_name = 'previous' AND schema_name = {_quote(USER_SCHEMA)}"
        ).fetchall()
        for view, sql in views:
            try:
                con.execute(sql)
            except duckdb.Error as exc:
                first = str(exc).splitlines()[0]
                messages.append(f"user view {view!r} no longer works and was not kept: {first}")
    finally:
        con.execute("DETACH previous")
    return messages


def _select_list(schema: dict[str, pl.DataType]) -> str:
    """Columns for CREATE TABLE, casting Polars enums to DuckDB ENUM types (same order)."""
    items = []
    for column, dtype in schema.items():
        if isinstance(dtype, pl.Enum):
            levels = ", ".join("'" + str(c).replace("'", "''") + "'" for c in dtype.categories)
            items.append(f'CAST("{column}" AS ENUM({levels})) AS "{column}"')
        else:
            items.append(f'"{column}"')
    return ", ".join(items)
