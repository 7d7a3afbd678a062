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

GOLDEN = Path(__file__).parent / "fixtures" / "golden_export.csv"
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
    assert (out / store.STAGING).exists()
    monkeypatch.undo()
    run_pipeline(raw, out)  # the next run discards the partial staging folder and succeeds
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
