"""The papermill batch: parameter checks, region validation, a failing region, outputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pipeline import refdata
from pipeline.bulletins import batch
from pipeline.bulletins.worker_kernel import ENGINE_NAME
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
    index = (tmp_path / "index.html").read_text()
    assert 'href="north-east/bulletin.html"' in index
    assert 'href="north-east/bulletin.pdf"' in index
    assert 'href="england-and-wales/bulletin.html"' in index
    assert "wales/bulletin.html" not in index.replace("england-and-wales/", ""), "Wales failed"
    assert str(tmp_path) not in index, "links are relative"
    assert '<html lang="en-GB">' in index
    assert "<title>" in index
    assert 'aria-labelledby="standing_alt"' in index
    meta = refdata.publication()
    assert meta.date_line() in index
    assert (refdata.DRAFT_WORDING in index) == meta.draft
    assert (tmp_path / "index-charts" / "where_regions_stand.svg").exists()


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
    assert seen["engine_name"] == ENGINE_NAME, "the worker's kernel, not one per notebook"
    kernel = seen["worker_kernel"]
    assert kernel.kernel_name == batch.KERNEL_NAME
    manager = kernel.manager_class(kernel_name=batch.KERNEL_NAME)
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


def _fake_papermill(fail: bool) -> object:
    """Stands in for papermill.execute_notebook: writes a pack file into output_dir and an
    executed notebook carrying absolute paths as papermill does (injected cell, metadata)."""

    def execute(notebook: str, output: str, parameters: dict, **_: object) -> None:
        out = Path(parameters["output_dir"])
        (out / "chart.svg").write_text("<svg/>")
        if fail:
            raise RuntimeError("a cell failed")
        injected = "".join(f"{k} = {json.dumps(v)}\n" for k, v in parameters.items())
        nb = {
            "cells": [
                {
                    "cell_type": "code",
                    "metadata": {"tags": ["injected-parameters"]},
                    "source": "# Parameters\n" + injected,
                    "outputs": [],
                    "execution_count": 1,
                }
            ],
            "metadata": {
                "papermill": {
                    "input_path": str(Path(notebook).resolve()),
                    "output_path": str(Path(output).resolve()),
                    "parameters": parameters,
                }
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        Path(output).write_text(json.dumps(nb))

    return execute


@pytest.mark.parametrize("fail", [False, True])
def test_a_pack_is_swapped_in_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail: bool
) -> None:
    import papermill

    out = tmp_path / "figures"
    old = out / "wales"
    old.mkdir(parents=True)
    (old / "old_chart.svg").write_text("old")
    monkeypatch.setattr(papermill, "execute_notebook", _fake_papermill(fail))
    params = {"region": "Wales", "data_dir": str(tmp_path / "release"), "output_dir": str(old)}
    result = batch.run_notebook(
        str(NOTEBOOKS_DIR / batch.REGIONAL_NOTEBOOK), "Wales", params, str(out)
    )
    assert result.status == ("failed" if fail else "ok")
    assert not list(out.glob(f"{batch.STAGING_PREFIX}*")), "no staging folder is left"
    assert not list(out.glob(".old-*"))
    if fail:
        assert (old / "old_chart.svg").exists(), "a failed run keeps the previous pack"
        assert not (old / "chart.svg").exists(), "and brings in none of its files"
        assert (old / "bulletin.log").exists()
    else:
        assert not (old / "old_chart.svg").exists(), "the old pack is replaced whole"
        assert (old / "chart.svg").exists()


def test_executed_notebooks_keep_no_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import papermill

    out = tmp_path / "figures"
    release = tmp_path / "data" / "releases" / "2026-01-01-01"
    monkeypatch.setattr(papermill, "execute_notebook", _fake_papermill(False))
    params = {"region": "Wales", "data_dir": str(release), "output_dir": str(out / "wales")}
    batch.run_notebook(str(NOTEBOOKS_DIR / batch.REGIONAL_NOTEBOOK), "Wales", params, str(out))
    text = (out / "wales" / batch.REGIONAL_NOTEBOOK).read_text()
    assert str(tmp_path) not in text
    assert str(NOTEBOOKS_DIR.parent) not in text
    assert batch.STAGING_PREFIX not in text
    nb = json.loads(text)
    meta = nb["metadata"]["papermill"]
    assert meta["input_path"] == f"notebooks/{batch.REGIONAL_NOTEBOOK}"
    assert meta["output_path"] == batch.REGIONAL_NOTEBOOK
    assert meta["parameters"]["output_dir"] == "."
    assert meta["parameters"]["data_dir"] == "../../data/releases/2026-01-01-01"
    source = "".join(nb["cells"][0]["source"])
    assert 'data_dir = "../../data/releases/2026-01-01-01"' in source
    assert 'output_dir = "."' in source
