"""Store: determinism, atomic commit and recovery, formula-safe CSV, DuckDB contents."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.outputs import database
from pipeline.run import run_pipeline
from pipeline.stages import store

GOLDEN = Path(__file__).parents[1] / "fixtures" / "golden_export.csv"
DATA_FILES = [
    "answers.parquet",
    "cases.parquet",
    "inspections.parquet",
    "rejected.csv",
    "rejected.parquet",
    "published.parquet",
]


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    shutil.copy(GOLDEN, folder / "export.csv")
    return folder


def test_failure_mid_write_leaves_previous_outputs(
    raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    run_pipeline(raw, out)
    before = {n: (out / n).read_bytes() for n in DATA_FILES}
    (raw / "export.csv").write_text((raw / "export.csv").read_text().replace("A1", "Z9"))

    def explode(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(database, "build_duckdb", explode)
    with pytest.raises(OSError, match="disk full"):
        run_pipeline(raw, out)
    assert {n: (out / n).read_bytes() for n in DATA_FILES} == before
    assert not (out / store.STAGING).exists(), "a failed write removes its staging folder"
    monkeypatch.undo()
    run_pipeline(raw, out)  # the next run succeeds
    assert not (out / store.STAGING).exists()
    assert "Z9" in pl.read_parquet(out / "cases.parquet")["case_id"].to_list()


def test_interrupted_commit_is_completed_by_recovery(tmp_path: Path) -> None:
    out = tmp_path / "out"
    staging = out / store.STAGING
    staging.mkdir(parents=True)
    (out / "a.parquet").write_text("old a")
    (out / "b.parquet").write_text("new b")  # already moved before the 'crash'
    (staging / "a.parquet").write_text("new a")
    (staging / store.COMMIT).write_text(json.dumps(["a.parquet", "b.parquet"]))
    assert store.recover(out) == "completed"
    assert (out / "a.parquet").read_text() == "new a"
    assert (out / "b.parquet").read_text() == "new b"
    assert not staging.exists()


def test_formula_like_text_is_escaped_in_csv(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {"t": ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "ok", None], "n": [1, 2, 3, 4, 5, 6]}
    )
    store.write_csv(frame, tmp_path / "x.csv")
    back = pl.read_csv(tmp_path / "x.csv")
    assert back["t"].to_list() == ["'=cmd|' /C calc'!A0", "'+1", "'-2", "'@SUM(A1)", "ok", None]
    assert back["n"].to_list() == [1, 2, 3, 4, 5, 6]


def test_duckdb_holds_the_same_tables(raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_pipeline(raw, out)
    con = duckdb.connect(str(out / "probation.duckdb"), read_only=True)
    try:
        for name in ("cases", "answers", "inspections", "rejected", "published"):
            n_db = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            assert n_db == pl.read_parquet(out / f"{name}.parquet").height, name
        answer_type = con.execute(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'answers' AND column_name = 'answer'"
        ).fetchone()[0]
        assert answer_type.startswith("ENUM")
    finally:
        con.close()


def test_the_database_documents_itself_and_keeps_the_user_schema(tmp_path: Path) -> None:
    import duckdb

    from pipeline.outputs import database

    cases = tmp_path / "cases.parquet"
    pl.DataFrame({"case_id": ["a", "b"], "region": ["Wales", "London"]}).write_parquet(cases)
    extra = tmp_path / "extra.parquet"
    pl.DataFrame({"x": [1]}).write_parquet(extra)
    old = tmp_path / "old.duckdb"
    database.build_duckdb(old, {"cases": cases, "extra": extra})
    con = duckdb.connect(str(old))
    con.execute('CREATE TABLE "user".notes AS SELECT 42 AS answer')
    con.execute(
        'CREATE VIEW "user".by_region AS SELECT region, count(*) AS n FROM cases GROUP BY 1'
    )
    con.execute('CREATE VIEW "user".uses_extra AS SELECT x FROM extra')
    con.close()
    new = tmp_path / "new.duckdb"
    messages = database.build_duckdb(new, {"cases": cases}, previous=old)
    assert len(messages) == 1
    assert "uses_extra" in messages[0]
    con = duckdb.connect(str(new), read_only=True)
    assert con.execute('SELECT answer FROM "user".notes').fetchall() == [(42,)]
    assert sorted(con.execute('SELECT * FROM "user".by_region').fetchall()) == [
        ("London", 1),
        ("Wales", 1),
    ]
    comments = dict(
        con.execute(
            "SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'cases'"
        ).fetchall()
    )
    assert all(comments.values()), comments
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert {
        "lookup_codes",
        "lookup_key_questions",
        "lookup_prompts",
        "lookup_needs",
        "lookup_regions",
    } <= tables
    table_comment = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE table_name = 'cases'"
    ).fetchall()[0][0]
    assert table_comment
    assert "case" in table_comment
    labels = dict(
        con.execute("SELECT code, label FROM lookup_codes WHERE \"column\" = 'rosh'").fetchall()
    )
    assert labels["very_high"] == "Very high"


def test_every_table_and_column_of_a_run_has_a_comment(sample_run: Path) -> None:
    import duckdb

    con = duckdb.connect(str(sample_run / "probation.duckdb"), read_only=True)
    missing = con.execute(
        "SELECT c.table_name, c.column_name FROM duckdb_columns() c "
        "JOIN duckdb_tables() t USING (schema_name, table_name) "
        "WHERE c.schema_name = 'main' AND c.comment IS NULL"
    ).fetchall()
    assert missing == []
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() "
                                        "WHERE NOT internal").fetchall()}  # fmt: skip
    assert {"safety_before_after_by_region", "latest_rating_per_unit"} <= views


def _database_with_user_objects(tmp_path: Path, statements: list[str]) -> tuple[Path, Path]:
    """A pipeline database whose `user` schema holds the objects `statements` create, and the
    cases Parquet file to rebuild from."""
    import duckdb

    from pipeline.outputs import database

    cases = tmp_path / "cases.parquet"
    pl.DataFrame({"case_id": ["a", "b"], "region": ["Wales", "London"]}).write_parquet(cases)
    old = tmp_path / "old.duckdb"
    database.build_duckdb(old, {"cases": cases})
    con = duckdb.connect(str(old))
    for statement in statements:
        con.execute(statement)
    con.close()
    return old, cases


INJECTION = """x" AS SELECT 1; COPY (SELECT 'pwned') TO '{target}'; --"""


def test_a_user_table_name_is_never_run_as_sql(tmp_path: Path) -> None:
    import duckdb

    from pipeline.outputs import database
    from pipeline.outputs.database import ident

    target = tmp_path / "pwned.txt"
    name = INJECTION.format(target=target)
    old, cases = _database_with_user_objects(
        tmp_path, [f'CREATE TABLE "user".{ident(name)} AS SELECT 7 AS v']
    )
    messages = database.build_duckdb(tmp_path / "new.duckdb", {"cases": cases}, previous=old)
    assert messages == []
    assert not target.exists()
    con = duckdb.connect(str(tmp_path / "new.duckdb"), read_only=True)
    assert con.execute(f'SELECT v FROM "user".{ident(name)}').fetchall() == [(7,)]


def test_user_objects_carry_with_quotes_dependencies_macros_and_keys(tmp_path: Path) -> None:
    import duckdb

    from pipeline.outputs import database

    old, cases = _database_with_user_objects(
        tmp_path,
        [
            """CREATE TABLE "user"."Bob's ""draft"" notes" (id INTEGER PRIMARY KEY,
               note VARCHAR DEFAULT 'none' NOT NULL, n INTEGER CHECK (n > 0))""",
            """INSERT INTO "user"."Bob's ""draft"" notes" VALUES (1, 'first', 2)""",
            'CREATE MACRO "user".twice(a) AS a * 2',
            'CREATE MACRO "user".first_n(k) AS TABLE SELECT * FROM range(k)',
            'CREATE VIEW "user".z_base AS SELECT "user".twice(id) AS t FROM '
            """"user"."Bob's ""draft"" notes\"""",
            'CREATE VIEW "user".a_top AS SELECT t + 1 AS u FROM "user".z_base',
            'CREATE SEQUENCE "user".ids START 10',
            "COMMENT ON VIEW \"user\".a_top IS 'my view'",
            "COMMENT ON COLUMN \"user\".z_base.t IS 'twice the id'",
            """CREATE TYPE "user".mood AS ENUM ('calm', 'cross')""",
        ],
    )
    new = tmp_path / "new.duckdb"
    assert database.build_duckdb(new, {"cases": cases}, previous=old) == []
    con = duckdb.connect(str(new))
    notes = """"user"."Bob's ""draft"" notes\""""
    assert con.execute(f"SELECT * FROM {notes}").fetchall() == [(1, "first", 2)]
    assert con.execute('SELECT u FROM "user".a_top').fetchall() == [(3,)]  # a view over a view
    assert con.execute('SELECT count(*) FROM "user".first_n(3)').fetchall() == [(3,)]
    assert con.execute("SELECT nextval('\"user\".ids')").fetchall() == [(10,)]
    comments = "SELECT comment FROM duckdb_views() WHERE view_name = 'a_top'"
    assert con.execute(comments).fetchall() == [("my view",)]
    comments = "SELECT comment FROM duckdb_columns() WHERE table_name = 'z_base'"
    assert con.execute(comments).fetchall() == [("twice the id",)]
    with pytest.raises(duckdb.ConstraintException):  # the primary key is kept
        con.execute(f"INSERT INTO {notes} (id, n) VALUES (1, 5)")
    with pytest.raises(duckdb.ConstraintException):  # and the CHECK
        con.execute(f"INSERT INTO {notes} (id, n) VALUES (2, 0)")
    con.execute(f"INSERT INTO {notes} (id, n) VALUES (3, 1)")
    assert con.execute(f"SELECT note FROM {notes} WHERE id = 3").fetchall() == [("none",)]


def test_every_user_object_lost_is_named(tmp_path: Path) -> None:
    from pipeline.outputs import database

    extra = tmp_path / "extra.parquet"
    pl.DataFrame({"x": [1]}).write_parquet(extra)
    old, cases = _database_with_user_objects(tmp_path, [])
    database.build_duckdb(old, {"cases": cases, "extra": extra})
    import duckdb

    con = duckdb.connect(str(old))
    con.execute('CREATE MACRO "user".from_extra() AS TABLE SELECT x FROM extra')
    con.execute('CREATE VIEW "user".uses_macro AS SELECT * FROM "user".from_extra()')
    con.close()
    messages = database.build_duckdb(tmp_path / "new.duckdb", {"cases": cases}, previous=old)
    assert len(messages) == 2
    assert "'uses_macro'" in messages[1] or "'uses_macro'" in messages[0]


def test_a_run_carries_a_hostile_user_table_and_exits_0(tmp_path: Path) -> None:
    import duckdb
    from typer.testing import CliRunner

    from pipeline.cli import app
    from pipeline.outputs.database import ident
    from tests.helpers import valid_row, write_csv

    rows = [valid_row(case_id=str(i), inspection_id=f"PDU-{i % 4}") for i in range(20)]
    write_csv(tmp_path / "raw" / "export.csv", rows)
    args = ["run", "--raw", str(tmp_path / "raw"), "--out", str(tmp_path / "out"), "--quiet"]
    assert CliRunner().invoke(app, args).exit_code == 0
    target = tmp_path / "pwned.txt"
    names = [INJECTION.format(target=target), """Bob's "draft" notes"""]
    con = duckdb.connect(str(tmp_path / "out" / "probation.duckdb"))
    for name in names:
        con.execute(f'CREATE TABLE "user".{ident(name)} AS SELECT 1 AS v')
    con.close()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert not target.exists()
    con = duckdb.connect(str(tmp_path / "out" / "probation.duckdb"), read_only=True)
    for name in names:
        assert con.execute(f'SELECT v FROM "user".{ident(name)}').fetchall() == [(1,)]


def test_a_user_view_over_a_file_that_never_answers_is_named_not_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A view over a CSV that later becomes a named pipe (as a stalled network drive would,
    nothing ever arrives): the rebuild goes on, names the view, and keeps the rest."""
    import os
    import time

    import duckdb

    from pipeline.outputs import database

    source = tmp_path / "notes.csv"
    source.write_text("note\nhello\n")
    old, cases = _database_with_user_objects(
        tmp_path,
        [
            f"CREATE VIEW \"user\".stalled AS SELECT * FROM read_csv('{source}')",
            'CREATE TABLE "user".kept AS SELECT 1 AS v',
        ],
    )
    source.unlink()
    os.mkfifo(source)
    monkeypatch.setattr(database, "VIEW_BIND_SECONDS", 2.0)
    started = time.monotonic()
    messages = database.build_duckdb(tmp_path / "new.duckdb", {"cases": cases}, previous=old)
    assert time.monotonic() - started < 30
    assert len(messages) == 1
    assert "'stalled'" in messages[0]
    assert "did not finish" in messages[0]
    con = duckdb.connect(str(tmp_path / "new.duckdb"), read_only=True)
    assert con.execute('SELECT v FROM "user".kept').fetchall() == [(1,)]
