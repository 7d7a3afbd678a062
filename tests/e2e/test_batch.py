"""The papermill batch: parameter checks, region validation, a failing region, outputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pipeline.bulletins import batch
from pipeline.config import NOTEBOOKS_DIR


def test_unknown_region_is_rejected_before_anything_runs() -> None:
    with pytest.raises(batch.BatchInputError, match="Atlantis"):
        batch.select_regions(["North East", "Atlantis"])
    assert batch.select_regions(None) == batch.select_regions(["all"])
    assert len(batch.select_regions(None)) == 12
    assert batch.select_regions(["kss", "KSS"]) == ["Kent, Surrey and Sussex"]


def test_parameter_typo_is_an_error() -> None:
    with pytest.raises(batch.BatchInputError, match="regoin"):
        batch.check_parameters(NOTEBOOKS_DIR / batch.REGIONAL_NOTEBOOK, {"regoin": "Wales"})
    batch.check_parameters(
        NOTEBOOKS_DIR / batch.REGIONAL_NOTEBOOK,
        {
            "region": "Wales",
            "period_start": 2019,
            "data_dir": "",
            "output_dir": "",
            "period_end": 2025,
            "synthetic_label": "auto",
        },
    )


def test_notebooks_are_committed_without_outputs() -> None:
    for path in NOTEBOOKS_DIR.glob("*.ipynb"):
        notebook = json.loads(path.read_text())
        assert notebook["metadata"]["kernelspec"]["name"] == batch.KERNEL_NAME
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [], path.name
                assert cell["execution_count"] is None, path.name
        tagged = [c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", [])]
        assert len(tagged) == 1, path.name


@pytest.mark.slow
def test_batch_continues_past_a_failing_region(sample_release: Path, tmp_path: Path) -> None:
    """Two regions and the national overview; Wales gets a bad period and fails at run time."""
    results = batch.run_bulletins(
        ["North East", "Wales"],
        workers=2,
        data_dir=sample_release,
        out_dir=tmp_path,
        region_parameters={"Wales": {"period_start": "not-a-year"}},
    )
    status = {r.region: r.status for r in results}
    assert status == {"North East": "ok", "Wales": "failed", "England and Wales": "ok"}
    wales = next(r for r in results if r.region == "Wales")
    assert "period_start" in wales.error
    assert wales.attempts == 1
    assert "period_start" in (tmp_path / "wales" / "bulletin.log").read_text()
    north_east = tmp_path / "north-east"
    for name in (
        "safety_trend",
        "unification",
        "kq_profile",
        "subgroup_rosh",
        "enquiries",
        "court_resettlement",
    ):
        for suffix in (".svg", ".vl.json", ".csv", ".alt.txt"):
            assert (north_east / f"{name}{suffix}").exists(), f"{name}{suffix}"
    html = (north_east / "bulletin.html").read_text()
    assert "report.chart(" not in html, "code is hidden in the HTML rendering"
    assert "data:image/svg+xml" in html or "<svg" in html
    assert (tmp_path / "england-and-wales" / "regional_small_multiples.svg").exists()
    assert not (north_east / "published_ratings.svg").exists(), "national-only section"
    assert not list(north_east.glob("*.png")), "a PNG only with --png"
    with (tmp_path / "bulletins_summary.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == ["ok", "failed", "ok"]


def test_cli_exits_non_zero_when_a_region_fails(sample_release: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    result = CliRunner().invoke(
        app,
        [
            "bulletins",
            "--data",
            str(sample_release),
            "--out",
            str(tmp_path),
            "--regions",
            "Atlantis",
        ],
    )
    assert result.exit_code == 2
    assert "Atlantis" in result.output
    result = CliRunner().invoke(
        app,
        [
            "bulletins",
            "--data",
            str(sample_release),
            "--out",
            str(tmp_path),
            "--regions",
            "Wales",
            "--param",
            "regoin=Wales",
        ],
    )
    assert result.exit_code == 2
    assert "regoin" in result.output


def _scan_for_small_cells(folder: Path, threshold: int) -> list[str]:
    """Every CSV under `folder`: no visible denominator below the threshold."""
    import polars as pl

    problems = []
    for path in folder.rglob("*.csv"):
        if path.name == "bulletins_summary.csv":
            continue
        frame = pl.read_csv(path, infer_schema_length=0)
        for column in [c for c in frame.columns if c.startswith("n_applicable")]:
            values = frame[column].drop_nulls().cast(pl.Float64)
            if (values < threshold).any():
                problems.append(f"{path.relative_to(folder)}: {column}")
    return problems


@pytest.mark.slow
def test_disclosure_scan_over_figures_and_workbook(sample_release: Path, tmp_path: Path) -> None:
    import polars as pl

    from pipeline import refdata
    from pipeline.outputs.publication import WORKBOOK_NAME

    threshold = refdata.settings().suppression_threshold
    batch.run_bulletins(
        ["London"], workers=1, data_dir=sample_release, out_dir=tmp_path, national=False
    )
    assert list(tmp_path.rglob("*.csv")), "the scan must have chart data to look at"
    assert _scan_for_small_cells(tmp_path, threshold) == []
    workbook = sample_release / "tables" / WORKBOOK_NAME
    import fastexcel

    from pipeline.outputs.labels import workbook_header

    denominators = {
        workbook_header(c)
        for c in ("n_applicable", "n_applicable_pre", "n_applicable_post", "n_applicable_min")
    }
    reader = fastexcel.read_excel(workbook)
    checked = 0
    for sheet in reader.sheet_names[3:]:
        frame = pl.read_excel(
            workbook, sheet_name=sheet, read_options={"header_row": 4}, infer_schema_length=0
        )
        for column in [c for c in frame.columns if c in denominators]:
            values = frame[column].drop_nulls()
            numbers = values.filter(~values.is_in(["[c]", "[x]", "[z]"])).cast(pl.Float64)
            if sheet != "published_ratings":
                assert (numbers >= threshold).all(), f"{sheet}: {column}"
            checked += numbers.len()
    assert checked > 1000


def test_notebooks_run_on_ipc_kernels_with_the_project_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kernels talk over Unix sockets (no TCP port race) and the kernel name and working
    directory are always passed."""
    import papermill

    seen: dict = {}

    def fake_execute(notebook: str, output: str, **kwargs: object) -> None:
        seen.update(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr(papermill, "execute_notebook", fake_execute)
    result = batch.run_notebook(
        str(NOTEBOOKS_DIR / batch.REGIONAL_NOTEBOOK), "Wales", {"region": "Wales"}, str(tmp_path)
    )
    assert result.status == "failed"
    assert result.attempts == 1
    assert seen["kernel_name"] == batch.KERNEL_NAME
    assert seen["cwd"] == str(NOTEBOOKS_DIR)
    manager = seen["kernel_manager_class"](kernel_name=batch.KERNEL_NAME)
    assert manager.transport == "ipc"


def test_checking_parameters_prints_no_input_notebook_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each job's parameter check used to log papermill's 'Input Notebook' line, naming no
    region, once per job."""
    import logging

    with caplog.at_level(logging.INFO):
        for _ in range(3):
            batch.check_parameters(NOTEBOOKS_DIR / batch.REGIONAL_NOTEBOOK, {"region": "Wales"})
    assert not [r for r in caplog.records if "Input Notebook" in r.getMessage()]
