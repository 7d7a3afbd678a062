"""Declared once: every table and chart section comes from one registry entry.

A toy table (one builder plus one `TableSpec`) and a toy section (one builder plus one
`SectionSpec`) are added here with no other edit, and found in every output that should carry
them: the workbook, the database, the data dictionary, a release, the HTML, the PDF and the
notebook."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import altair as alt
import duckdb
import openpyxl
import polars as pl
import pytest

from pipeline.bulletins import bulletin, document, sections
from pipeline.bulletins.charts import ChartResult
from pipeline.config import NOTEBOOKS_DIR, PUBLISHED_DIR
from pipeline.outputs import dictionary
from pipeline.outputs.publication import WORKBOOK_NAME, sheet_name
from pipeline.release import make_release
from pipeline.run import run_pipeline
from pipeline.tables import build, registry

TOY_TABLE = registry.TableSpec(
    "toy_scopes",
    keys=("scope",),
    title="Toy: visible trend cells per area",
    description="A table added by a test.",
    protection=registry.Protection.FROM_PROTECTED,
)
TOY_HEADING = "A toy section added by a test"


def _toy_table(cells: dict[str, pl.DataFrame]) -> pl.DataFrame:
    trend = cells["kq_trend"].filter(~pl.col("suppressed"))
    return trend.group_by("scope").agg(pl.len().alias("n_cells")).sort("scope")


def _toy_chart(inputs: sections.Inputs) -> ChartResult:
    data = pl.DataFrame({"x": [1, 2], "y": [3, 4]})
    chart = alt.Chart(data.to_pandas()).mark_point().encode(x="x", y="y")
    return ChartResult("toy_chart", chart, data, "A toy chart of two points.", "A toy finding.")


@pytest.fixture
def with_toys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The two registry entries and two builders; nothing else is edited."""
    monkeypatch.setattr(registry, "TABLES", (*registry.TABLES, TOY_TABLE))
    monkeypatch.setitem(registry.BY_NAME, TOY_TABLE.name, TOY_TABLE)
    monkeypatch.setitem(registry.PUBLICATION_KEYS, TOY_TABLE.name, TOY_TABLE.keys)
    derived = build.derived_tables

    def with_toy(cells: dict[str, pl.DataFrame], *args: object) -> dict[str, pl.DataFrame]:
        return {**derived(cells, *args), TOY_TABLE.name: _toy_table(cells)}  # type: ignore[arg-type]

    monkeypatch.setattr(build, "derived_tables", with_toy)
    toy = sections.SectionSpec("toy_chart", TOY_HEADING, "Everything.", ("kq_trend",), _toy_chart)
    monkeypatch.setattr(sections, "SECTIONS", (*sections.SECTIONS, toy))


@pytest.mark.slow
@pytest.mark.usefixtures("with_toys")
def test_a_toy_table_and_section_appear_everywhere(sample_dir: Path, tmp_path: Path) -> None:
    raw, out, releases = tmp_path / "raw", tmp_path / "out", tmp_path / "releases"
    shutil.copytree(sample_dir, raw / "sample")
    shutil.copytree(PUBLISHED_DIR, raw / "published")
    run_pipeline(raw, out)
    assert (out / "tables" / "toy_scopes.parquet").exists()
    assert "toy_scopes" in openpyxl.load_workbook(out / "tables" / WORKBOOK_NAME).sheetnames
    con = duckdb.connect(str(out / "probation.duckdb"), read_only=True)
    comment = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE table_name = 'toy_scopes'"
    ).fetchone()
    con.close()
    assert comment is not None
    assert TOY_TABLE.title in comment[0]
    assert "tables/toy_scopes" in dictionary.table_schemas(out)
    release = make_release(out, releases).folder
    assert (release / "tables" / "toy_scopes.csv").exists()
    assert "toy_scopes" in json.loads((release / "release.json").read_text())["tables"]

    report = bulletin.Bulletin.load(release, "Wales", output_dir=tmp_path / "wales")
    html, pdf = document.write(report, tmp_path / "wales")
    assert TOY_HEADING in html.read_text()
    names = {s.anchor: f"{s.anchor}.svg" for s in document.build(report).sections}
    assert TOY_HEADING in document.render_typst(document.build(report), names)
    assert pdf.read_bytes().startswith(b"%PDF")

    shown = _run_notebook_in_process(release, tmp_path / "notebook")
    assert TOY_HEADING in shown


def _run_notebook_in_process(release: Path, output: Path) -> str:
    """Execute the regional notebook's code cells here (where the toy entries exist), as
    papermill would with these parameters, and return what it displayed."""
    notebook = json.loads((NOTEBOOKS_DIR / "regional_bulletin.ipynb").read_text())
    namespace: dict[str, object] = {}
    shown: list[str] = []
    import IPython.display

    real = IPython.display.display
    IPython.display.display = lambda *objs, **_: shown.extend(  # type: ignore[assignment]
        getattr(o, "data", repr(o)) for o in objs
    )
    try:
        for cell in notebook["cells"]:
            if cell["cell_type"] != "code":
                continue
            exec("".join(cell["source"]), namespace)
            if "region: str" in "".join(cell["source"]):
                namespace.update(region="Wales", data_dir=str(release), output_dir=str(output))
    finally:
        IPython.display.display = real
    return "\n".join(str(s) for s in shown)


def test_tables_workbook_database_and_registry_are_one_set(
    sample_run: Path, sample_release: Path
) -> None:
    declared = {t.name for t in registry.TABLES}
    for folder in (sample_run, sample_release):
        files = {p.stem for p in (folder / "tables").glob("*.parquet")}
        assert files == declared, folder
        sheets = set(openpyxl.load_workbook(folder / "tables" / WORKBOOK_NAME).sheetnames)
        assert sheets - {"Cover", "Contents", "Notes"} == {sheet_name(t) for t in declared}
    con = duckdb.connect(str(sample_run / "probation.duckdb"), read_only=True)
    in_database = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    con.close()
    assert declared <= in_database
