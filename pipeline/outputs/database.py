"""The DuckDB database: every stored and publication table in one file for SQL users, documented
inside the file (COMMENT ON every table and column, from the data dictionary's sources), with
lookup tables (codes and labels, questions and prompts with their wording, regions, programmes),
views for common questions, and a `user` schema for researchers' own tables and views that is
carried over from the previous database when a run replaces it."""

from __future__ import annotations

import re
from dataclasses import dataclass
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
            schema = dict(pl.scan_parquet(parquet, glob=False).collect_schema())  # a literal path
            source = f"read_parquet({_quote(str(parquet))})"
            con.execute(
                f"CREATE TABLE {ident(name)} AS SELECT {_select_list(schema)} FROM {source}"
            )
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
        "lookup_needs": (
            refdata.needs(),
            "Kinds of need of the needs block (need_<area>_identified, need_<area>_addressed).",
        ),
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
    "need": "The kind of need (the <area> of the need_<area>_* contract columns)",
    "sample_present_pct": "Share of synthetic cases with the need (assumed; the sample only)",
    "verified": "True where the row is checked against a source",
    "notes": "What is assumed and why",
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
    con.execute("BEGIN TRANSACTION")  # one commit for some 1,500 comments, not one each
    for table in sorted({t for t, _ in rows}):
        if table in tables:
            con.execute(f"COMMENT ON TABLE {ident(table)} IS {_quote(tables[table])}")
    for table, column in rows:
        meaning = dictionary.describe(table, column, known)
        if table.startswith("lookup_"):
            meaning = LOOKUP_COLUMNS.get(column) or meaning
        if meaning:
            con.execute(f"COMMENT ON COLUMN {ident(table)}.{ident(column)} IS {_quote(meaning)}")
    con.execute("COMMIT")


def _views(con: duckdb.DuckDBPyConnection) -> None:
    present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    for name, (description, sql) in VIEWS.items():
        needed = set(re.findall(r"\bFROM\s+(\w+)", sql)) - {"SELECT"}
        if needed <= present:
            con.execute(f'CREATE VIEW "{name}" AS {sql}')
            con.execute(f'COMMENT ON VIEW "{name}" IS {_quote(description)}')


def ident(name: str) -> str:
    """An SQL identifier, quoted the database's way (a `"` inside is doubled): a name such as
    `x" AS SELECT 1; COPY ...` stays one name instead of becoming statements."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class _UserObject:
    """One object of the previous `user` schema: the statement that re-creates it (and, for a
    table, the one that copies its rows)."""

    kind: str
    name: str
    create: str
    fill: str | None = None


class _UnsafeStatement(ValueError):
    """A stored definition that is not exactly one CREATE statement: never executed."""


def _carry_user_schema(con: duckdb.DuckDBPyConnection, previous: Path | None) -> list[str]:
    """Re-create the previous database's `user` schema here: types, sequences, tables (with
    their constraints, defaults and rows), macros, views and indexes, each in an order that
    works (a view over another view, a view using a macro); every object that could not be
    carried is named in the returned messages."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(USER_SCHEMA)}")
    if previous is None or not previous.exists():
        return []
    try:
        con.execute(f"ATTACH {_quote(str(previous))} AS previous (READ_ONLY)")
    except duckdb.Error as exc:
        return [f"the previous database could not be opened, so its user schema is lost: {exc}"]
    try:
        objects, messages = _user_objects(con)
        messages += _recreate(con, objects)
        return messages + _carry_comments(con)
    finally:
        con.execute("DETACH previous")


def _user_objects(con: duckdb.DuckDBPyConnection) -> tuple[list[_UserObject], list[str]]:
    """Every object in previous.user as a statement, plus messages for kinds not carried."""
    where = f"database_name = 'previous' AND schema_name = {_quote(USER_SCHEMA)}"
    schema = ident(USER_SCHEMA)
    objects = _user_types(con, where) + _user_sequences(con, where)
    for name, sql in con.execute(
        f"SELECT table_name, sql FROM duckdb_tables() WHERE {where}"
    ).fetchall():
        copy = f"INSERT INTO {schema}.{ident(name)} SELECT * FROM previous.{schema}.{ident(name)}"
        objects.append(_UserObject("table", name, sql, copy))
    objects += _user_macros(con, where)
    stalled = []
    for name, sql in con.execute(
        f"SELECT view_name, sql FROM duckdb_views() WHERE {where}"
    ).fetchall():
        if binds_in_time(previous_path(con), name):
            objects.append(_UserObject("view", name, sql))
        else:
            stalled.append(name)
    for name, sql in con.execute(
        f"SELECT index_name, sql FROM duckdb_indexes() WHERE {where}"
    ).fetchall():
        if sql:
            objects.append(_UserObject("index", name, sql))
    messages = [
        f"user {kind} {name!r} was not kept: DuckDB cannot re-create this kind of object"
        for kind, name in _unsupported(con, where)
    ]
    messages += [
        f"user view {name!r} was not kept: reading what it reads did not finish within "
        f"{VIEW_BIND_SECONDS:g} seconds (a named pipe, or a file on a drive that does not answer)"
        for name in stalled
    ]
    return objects, messages


VIEW_BIND_SECONDS = 10.0
"""How long re-creating one user view may take. Creating a view reads what it reads (a CSV's
header, a Parquet schema); a view over a file that never delivers data (a named pipe, a stalled
network drive) would hang every later run. A thread blocked in such a read cannot be stopped,
so each view is first bound in a separate process, which can."""

_BIND_CHECK = (
    "import sys, duckdb\n"
    "con = duckdb.connect(sys.argv[1], read_only=True)\n"
    "con.execute('SET enable_progress_bar = false')\n"
    "con.execute('DESCRIBE SELECT * FROM ' + sys.argv[2])\n"
)


def previous_path(con: duckdb.DuckDBPyConnection) -> Path:
    """The file of the attached previous database."""
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = 'previous'"
    ).fetchone()
    return Path(str(row[0])) if row else Path()


def binds_in_time(database: Path, view: str) -> bool:
    """Whether the view in `database`'s user schema binds within VIEW_BIND_SECONDS, tried in a
    separate process that is killed (not waited for) when it does not."""
    import subprocess
    import sys

    target = f"{ident(USER_SCHEMA)}.{ident(view)}"
    child = subprocess.Popen(
        [sys.executable, "-c", _BIND_CHECK, str(database), target],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        child.wait(timeout=VIEW_BIND_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        return False
    return True


def _user_types(con: duckdb.DuckDBPyConnection, where: str) -> list[_UserObject]:
    """ENUM types (other user types are reported by `_unsupported`)."""
    rows = con.execute(
        f"SELECT type_name, labels FROM duckdb_types() WHERE {where} AND logical_type = 'ENUM'"
    ).fetchall()
    return [
        _UserObject(
            "type",
            name,
            f"CREATE TYPE {ident(USER_SCHEMA)}.{ident(name)} AS ENUM "
            f"({', '.join(_quote(label) for label in labels)})",
        )
        for name, labels in rows
    ]


def _user_sequences(con: duckdb.DuckDBPyConnection, where: str) -> list[_UserObject]:
    """Sequences, continuing from the last value they gave."""
    rows = con.execute(
        "SELECT sequence_name, coalesce(last_value + increment_by, start_value), min_value, "
        f"max_value, increment_by, cycle FROM duckdb_sequences() WHERE {where}"
    ).fetchall()
    return [
        _UserObject(
            "sequence",
            name,
            f"CREATE SEQUENCE {ident(USER_SCHEMA)}.{ident(name)} INCREMENT BY {int(step)} "
            f"MINVALUE {int(low)} MAXVALUE {int(high)} START {int(start)}"
            + (" CYCLE" if cycle else ""),
        )
        for name, start, low, high, step, cycle in rows
    ]


def _user_macros(con: duckdb.DuckDBPyConnection, where: str) -> list[_UserObject]:
    """Scalar and table macros (every overload of a name in one statement)."""
    rows = con.execute(
        "SELECT function_name, function_type, parameters, macro_definition "
        f"FROM duckdb_functions() WHERE {where} AND function_type IN ('macro', 'table_macro') "
        "ORDER BY function_name, function_oid"
    ).fetchall()
    bodies: dict[str, list[str]] = {}
    for name, kind, parameters, definition in rows:
        table = "TABLE " if kind == "table_macro" else ""
        params = ", ".join(ident(p) for p in parameters)
        bodies.setdefault(name, []).append(f"({params}) AS {table}{definition}")
    return [
        _UserObject(
            "macro", name, f"CREATE MACRO {ident(USER_SCHEMA)}.{ident(name)}" + ", ".join(b)
        )
        for name, b in bodies.items()
    ]


def _unsupported(con: duckdb.DuckDBPyConnection, where: str) -> list[tuple[str, str]]:
    """User objects of kinds that are not re-created (non-ENUM types)."""
    return [
        ("type", name)
        for (name,) in con.execute(
            f"SELECT type_name FROM duckdb_types() WHERE {where} AND logical_type != 'ENUM' "
            "AND NOT internal"
        ).fetchall()
    ]


def _recreate(con: duckdb.DuckDBPyConnection, objects: list[_UserObject]) -> list[str]:
    """Create the objects in passes until a pass creates nothing: whatever an object needs
    (another view, a macro, a referenced table) is then in place whatever the name order.
    Returns one message per object that could not be created, with its last error."""
    pending = list(objects)
    errors: dict[int, str] = {}
    while pending:
        waiting = []
        for item in pending:
            try:
                _create(con, item)
                errors.pop(id(item), None)
            except _UnsafeStatement as exc:
                errors[id(item)] = str(exc)
            except duckdb.Error as exc:
                errors[id(item)] = str(exc).splitlines()[0]
                waiting.append(item)
        if len(waiting) == len(pending):
            break
        pending = waiting
    return [
        f"user {o.kind} {o.name!r} could not be carried over and was not kept: {errors[id(o)]}"
        for o in objects
        if id(o) in errors
    ]


COMMENTS = {
    "TABLE": "SELECT table_name, NULL, comment FROM duckdb_tables()",
    "VIEW": "SELECT view_name, NULL, comment FROM duckdb_views()",
    "MACRO": "SELECT DISTINCT function_name, NULL, comment FROM duckdb_functions()",
    "COLUMN": "SELECT table_name, column_name, comment FROM duckdb_columns()",
}
"""Where the previous database keeps the analyst's comments, by the kind COMMENT ON names."""


def _carry_comments(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The analyst's comments on their tables, views, macros and columns (a re-created object
    does not keep them); a comment whose object was not carried is named as lost."""
    where = f"database_name = 'previous' AND schema_name = {_quote(USER_SCHEMA)}"
    messages = []
    for kind, query in COMMENTS.items():
        rows = con.execute(f"{query} WHERE {where} AND comment IS NOT NULL").fetchall()
        for name, column, comment in rows:
            target = f"{ident(USER_SCHEMA)}.{ident(name)}"
            target += f".{ident(column)}" if column else ""
            try:
                con.execute(f"COMMENT ON {kind} {target} IS {_quote(comment)}")
            except duckdb.Error:
                messages.append(f"the comment on user {kind.lower()} {name!r} was not kept")
    return messages


def _create(con: duckdb.DuckDBPyConnection, item: _UserObject) -> None:
    """Run an object's CREATE statement (refused unless it is exactly one CREATE statement) and
    copy its rows, as one transaction: a failed copy leaves no empty table behind."""
    statements = con.extract_statements(item.create)
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.CREATE:
        raise _UnsafeStatement(f"its stored definition is not one CREATE statement: {item.create}")
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(item.create)
        if item.fill:
            con.execute(item.fill)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _select_list(schema: dict[str, pl.DataType]) -> str:
    """Columns for CREATE TABLE, casting Polars enums to DuckDB ENUM types (same order)."""
    items = []
    for column, dtype in schema.items():
        if isinstance(dtype, pl.Enum):
            levels = ", ".join("'" + str(c).replace("'", "''") + "'" for c in dtype.categories)
            items.append(f"CAST({ident(column)} AS ENUM({levels})) AS {ident(column)}")
        else:
            items.append(ident(column))
    return ", ".join(items)
