"""Analysis for the team, releases for the public (`probation run` / `probation release`).

The revision attack here is written independently of `disclosure/revisions.py`: it reads every
CSV file of two consecutive releases and differences every cell published in both."""

from __future__ import annotations

import csv
import json
import random
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline.config import PUBLISHED_DIR
from pipeline.disclosure import policy as disclosure
from pipeline.release import ReleaseRefused, latest_release, make_release, read_index
from pipeline.run import run_pipeline
from pipeline.tables import build as tables
from pipeline.tables import registry
from tests.helpers import valid_row, write_csv

THRESHOLD, MIN_OUTCOME = 10, 10


def _thirty_case_export(path: Path) -> Path:
    """30 cases for two regions, 6 of them invalid (an unknown risk level)."""
    rng = random.Random(7)
    rows = []
    for i in range(30):
        london = i < 15
        row = valid_row(
            inspection_id="PDU-2022-london-test" if london else "PDU-2023-wales-test",
            region="London" if london else "Wales",
            fieldwork_start="2022-05-09" if london else "2023-03-06",
            fieldwork_end="2022-05-20" if london else "2023-03-17",
            publication_date="2022-08-01" if london else "2023-06-01",
            case_id=f"C{i:02d}",
            rosh="severe" if i % 5 == 4 else "medium",
        )
        for kq in [k for k in row if k.split("_")[0] in ("assessment", "planning")]:
            if kq.endswith(("engagement", "desistance", "safety")):
                row[kq] = rng.choice(["yes", "no"])
        rows.append(row)
    return write_csv(path, rows)


def test_a_small_export_is_analysed_and_its_release_is_protected_or_refused(
    tmp_path: Path,
) -> None:
    raw, out, releases = tmp_path / "raw", tmp_path / "out", tmp_path / "releases"
    raw.mkdir()
    _thirty_case_export(raw / "export.csv")
    result = run_pipeline(raw, out)
    assert (result.rows_read, result.rows_accepted, result.rows_rejected) == (30, 24, 6)
    assert pl.read_parquet(out / "cases.parquet").height == 24
    con = duckdb.connect(str(out / "probation.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM cases").fetchone() == (24,)
    comment = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE table_name = 'kq_trend'"
    ).fetchone()
    con.close()
    assert comment is not None
    assert "not for publication" in comment[0]
    assert json.loads((out / "manifest.json").read_text())["status"].startswith("internal")
    refused: ReleaseRefused | None = None
    try:
        release = make_release(out, releases)
    except ReleaseRefused as exc:
        refused = exc
    if refused is not None:
        assert "Cells that blocked it" in str(refused)
        assert "Options:" in str(refused)
        assert latest_release(releases) is None
        assert not [p for p in releases.iterdir() if not p.name.startswith(".")]
        return
    for name in disclosure.PROTECTED_TABLES:
        visible = pl.read_parquet(release.folder / "tables" / f"{name}.parquet").filter(
            ~pl.col("suppressed")
        )
        for column in [c for c in visible.columns if c.startswith("n_applicable")]:
            assert (visible[column].fill_null(THRESHOLD) >= THRESHOLD).all(), name


def _late_returns(
    sample: Path, accepted: pl.DataFrame, added: int = 4
) -> tuple[str, list[dict[str, str]]]:
    """`added` new cases for one 2024 PDU inspection of the sample, copied from one of its
    accepted cases with new ids and mixed answers."""
    with (sample / "pdu_regional_2023_2025.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = [{k.replace(" ", "_"): v for k, v in r.items()} for r in csv.DictReader(fh)]
    good = set(accepted.select("inspection_id", "case_id").iter_rows())
    template = next(
        r
        for r in rows
        if r["inspection_id"].startswith("PDU-2024") and (r["inspection_id"], r["case_id"]) in good
    )
    chosen = template["inspection_id"]
    new = []
    for i in range(added):
        row = dict(template, case_id=f"LATE-{i}")
        for column in ("assessment_safety", "planning_safety", "implementation_safety"):
            row[column] = "yes" if i % 2 else "no"
        row["resettlement"] = "na"  # a not-applicable change reveals who the cases are
        new.append(row)
    return chosen, new


def _release_cells(folder: Path) -> dict[tuple[str, tuple[str, ...]], dict[str, str]]:
    """Every row of every released CSV, keyed by table and key values."""
    cells = {}
    for spec in registry.TABLES:
        path = folder / "tables" / f"{spec.name}.csv"
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                cells[(spec.name, tuple(row[k] for k in spec.keys))] = row
    return cells


def _small_differences(first: Path, second: Path) -> list[tuple]:
    """Cells published in both releases whose change is a group below the threshold."""
    before, after = _release_cells(first), _release_cells(second)
    found = []
    for key, new in after.items():
        old = before.get(key)
        if old is None or new.get("suppressed") == "true" or old.get("suppressed") == "true":
            continue
        for part in ("", "_pre", "_post"):
            counts = [f"n_applicable{part}", f"n_yes{part}", f"n_no{part}", f"n_na{part}"]
            counts = [c for c in counts if c in new and new[c] and old.get(c)]
            if len(counts) < 3:
                continue
            delta = [abs(float(new[c]) - float(old[c])) for c in counts]
            small = delta[0] < THRESHOLD or delta[1] < MIN_OUTCOME or delta[2] < MIN_OUTCOME
            small_na = len(delta) == 4 and 0 < delta[3] < THRESHOLD
            if any(delta) and (small or small_na):
                found.append((key, part, delta))
    return found


@pytest.mark.slow
def test_two_releases_differenced_disclose_nothing(sample_dir: Path, tmp_path: Path) -> None:
    """The second release adds four cases to one 2024 PDU inspection; differencing every file
    of the two releases recovers nothing, and the release marks what it held back."""
    raw = tmp_path / "raw"
    shutil.copytree(sample_dir, raw / "sample")
    shutil.copytree(PUBLISHED_DIR, raw / "published")
    releases = tmp_path / "releases"
    run_pipeline(raw, tmp_path / "out1")
    first = make_release(tmp_path / "out1", releases)
    inspection, late = _late_returns(
        sample_dir, pl.read_parquet(tmp_path / "out1" / "cases.parquet")
    )
    write_csv(raw / "late_returns.csv", late)
    run_pipeline(raw, tmp_path / "out2")
    second = make_release(tmp_path / "out2", releases)
    assert second.previous == first.release_id
    assert _small_differences(first.folder, second.folder) == []
    held = pl.read_parquet(second.folder / "tables" / "kq_by_inspection.parquet").filter(
        pl.col("inspection_id") == inspection
    )
    assert (held["suppression"] == "revision").any(), "the changed inspection is held back"
    manifest = json.loads((second.folder / "release.json").read_text())
    assert manifest["disclosure_control"]["recoverable"] == 0
    assert min(manifest["disclosure_control"]["narrowest"].values()) >= 5
    index = read_index(releases)
    assert index["release_id"].to_list() == [first.release_id, second.release_id]
    assert index["previous_release"].to_list() == [None, first.release_id]


def test_model_tables_publish_no_counts_and_no_regional_fits(sample_release: Path) -> None:
    """The ITS and practitioner tables cannot reopen suppressed cells: no case counts, estimates
    to whole percentage points, regional segmented regressions not published."""
    its = pl.read_parquet(sample_release / "tables" / "its.parquet")
    assert set(its["scope"].unique()) == {"England and Wales"}
    leverage = its["max_leverage"].drop_nulls()
    assert ((leverage > 0) & (leverage < 1)).any(), "leverage keeps 2 places, not 0 or 1"
    for name in ("its", "practitioner_effects"):
        table = pl.read_parquet(sample_release / "tables" / f"{name}.parquet")
        counts = [c for c in table.columns if c.startswith("n_") and "inspections" not in c]
        assert counts == [], name
        for column in [c for c in table.columns if c.endswith(("_pp", "_estimate", "_low"))]:
            values = table[column].drop_nulls()
            assert (values == values.round(0)).all(), f"{name}.{column}"


def test_the_analysis_run_keeps_full_precision_and_real_counts(sample_run: Path) -> None:
    its = pl.read_parquet(sample_run / "tables" / "its.parquet")
    assert "n_cases" in its.columns
    assert its["scope"].n_unique() > 1
    groups = pl.read_parquet(sample_run / "tables" / "subgroups.parquet")
    assert not groups["suppressed"].any()
    assert (groups["n_applicable"] < THRESHOLD).any(), "small cells are visible to the team"


def test_a_table_without_a_protection_rule_cannot_be_written(
    sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new table added to a builder but not to the registry stops the run before anything
    is written."""
    real = tables.model_tables

    def with_dummy(*args: object) -> dict[str, pl.DataFrame]:
        return {**real(*args), "dummy_counts": pl.DataFrame({"n_yes": [3]})}  # type: ignore[arg-type]

    monkeypatch.setattr(tables, "model_tables", with_dummy)
    raw = tmp_path / "raw"
    shutil.copytree(sample_dir, raw / "sample")
    with pytest.raises(registry.UndeclaredTable, match="dummy_counts"):
        run_pipeline(raw, tmp_path / "out")
    assert not (tmp_path / "out" / "cases.parquet").exists()


def test_a_model_table_must_declare_its_rule() -> None:
    with pytest.raises(registry.UndeclaredTable, match="model_rule"):
        registry.TableSpec("toy", ("a",), "Toy", "A toy.", registry.Protection.MODEL)


def test_bulletins_refuse_an_analysis_folder(sample_run: Path) -> None:
    from pipeline.bulletins import bulletin

    with pytest.raises(bulletin.BulletinInputError, match="not a release"):
        bulletin.Bulletin.load(sample_run, "Wales")


def test_release_without_an_analysis_run_exits_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    result = CliRunner().invoke(
        app, ["release", "--data", str(tmp_path), "--releases", str(tmp_path / "r")]
    )
    assert result.exit_code == 2
    assert "probation run" in result.output
    assert not (tmp_path / "r" / "index.csv").exists()


def _half_unit(value: float) -> float:
    """Half a unit of the last decimal place a published number shows (its rounding error)."""
    places = next((d for d in range(15) if round(value, d) == value), 15)
    return 0.5 * 10.0**-places


def _sizes_narrowed(release: Path, run: Path) -> tuple[int, list[tuple]]:
    """A nonlinear intruder: in a published trend cell where exactly two inspections are
    suppressed, the design effect, the ICC and the effective sample size bound the sum of the
    squared sizes, hence the two sizes. Returns (cells tried, sizes narrowed below 5)."""
    cases = pl.read_parquet(run / "cases.parquet")
    periods = ("calendar_year", "financial_year", "half_year", "programme")
    structure = cases.group_by("inspection_id").agg(pl.col(*periods).first().cast(pl.String))
    cells = pl.read_parquet(release / "tables" / "kq_by_inspection.parquet")
    cells = cells.drop("programme").join(structure, on="inspection_id")
    known = {
        (r["comparable_id"], r["inspection_id"]): r["n_applicable"]
        for r in cells.filter(~pl.col("suppressed")).iter_rows(named=True)
    }
    trend = pl.read_parquet(release / "tables" / "kq_trend.parquet")
    tried, narrowed = 0, []
    for row in trend.filter(~pl.col("suppressed"), pl.col("scope") == "England and Wales",
                            pl.col("series") == "core").iter_rows(named=True):  # fmt: skip
        members = cells.filter(
            pl.col("comparable_id") == row["comparable_id"],
            pl.col(row["period_type"]) == row["period"],
            pl.col("series").cast(pl.String) == "core" if "series" in cells.columns else True,
        )["inspection_id"].to_list()
        hidden = [i for i in members if (row["comparable_id"], i) not in known]
        if len(hidden) != 2 or not row["icc"]:
            continue
        tried += 1
        total = row["n_applicable"]
        rest = total - sum(known[(row["comparable_id"], i)] for i in members if i not in hidden)
        squares = sum(known[(row["comparable_id"], i)] ** 2 for i in members if i not in hidden)
        effect, icc = row["design_effect"], row["icc"]
        bounds = [
            total * (1 + (d - 1) / c) - squares
            for d in (effect - _half_unit(effect), effect + _half_unit(effect))
            for c in (max(icc - _half_unit(icc), 1e-6), icc + _half_unit(icc))
        ]
        fits = [m for m in range(rest + 1) if min(bounds) <= m * m + (rest - m) ** 2 <= max(bounds)]
        if fits and max(fits) - min(fits) < 5:
            narrowed.append((row["comparable_id"], row["period"], fits))
    return tried, narrowed


def test_second_moments_do_not_give_back_suppressed_sizes(
    sample_run: Path, sample_release: Path
) -> None:
    """The design effect at full precision gave the sum of squared inspection sizes exactly
    (29 suppressed inspection cells recovered on the sample); a release drops the cell's own
    design effect and rounds the pooled statistics, and the same intruder narrows nothing."""
    assert (
        "design_effect_empirical"
        not in pl.read_parquet(sample_release / "tables" / "kq_trend.parquet").columns
    )
    tried, narrowed = _sizes_narrowed(sample_release, sample_run)
    assert tried > 20
    assert narrowed == []
