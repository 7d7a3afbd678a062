"""The batch's workers keep one kernel for all their notebooks: these tests prove that reuse
happens (same kernel process) and that nothing one region's notebook leaves in the kernel
reaches the next region's (namespace, environment, working directory, module state, Altair
theme, warning filters), and that a kernel that dies is replaced for the next job."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from pipeline.bulletins import batch

PARAMETERS = """region = "North East"
data_dir = ""
output_dir = ""
plant = False
die = False
pid_file = ""
"""

LOOK = """import json, os, warnings
from pathlib import Path
import altair as alt
from pipeline.bulletins import theme
seen = {
    "pid": os.getpid(),
    "cwd": os.getcwd(),
    "planted_globals": sorted(n for n in ("planted", "secret_report") if n in globals()),
    "env": os.environ.get("PROBATION_TEST_PLANTED"),
    "font": theme.FONT,
    "palette": list(theme.PALETTE),
    "planted_attribute": hasattr(theme, "PLANTED"),
    "altair_theme": alt.theme.active,
    "warning_filters": len(warnings.filters),
    "execution_count": get_ipython().execution_count,
}
Path(output_dir, "seen.json").write_text(json.dumps(seen))
if pid_file:
    with open(pid_file, "a") as fh:
        fh.write(f"{os.getpid()}\\n")
"""

PLANT = """if plant:  # everything a careless notebook could leave behind
    planted = secret_report = region
    os.environ["PROBATION_TEST_PLANTED"] = region
    os.chdir("/")
    theme.FONT = "Comic Sans MS"
    theme.PALETTE.append("#FF00FF")
    theme.PLANTED = True
    alt.theme.enable("dark")
    warnings.simplefilter("ignore")
if die:
    os._exit(1)
"""


def _notebooks(folder: Path) -> Path:
    """A tiny notebook (as both the regional and the national one) that records what it finds
    in its kernel, then plants state when told to."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": batch.KERNEL_NAME, "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(LOOK),
        nbformat.v4.new_code_cell(PLANT),
    ]
    folder.mkdir()
    for name in (batch.REGIONAL_NOTEBOOK, batch.NATIONAL_NOTEBOOK):
        nbformat.write(nb, folder / name)
    return folder


def _seen(out: Path, slug: str) -> dict[str, object]:
    return dict(json.loads((out / slug / "seen.json").read_text()))


@pytest.mark.slow
def test_one_kernel_per_worker_and_no_state_crosses_regions(
    sample_release: Path, tmp_path: Path
) -> None:
    """North East plants state after recording what it found; Wales, next in the same kernel
    (one worker), must find what North East found."""
    out = tmp_path / "figures"
    results = batch.run_bulletins(
        ["North East", "Wales"],
        workers=1,
        data_dir=sample_release,
        out_dir=out,
        national=False,
        region_parameters={"North East": {"plant": True}},
        notebooks_dir=_notebooks(tmp_path / "notebooks"),
    )
    assert [(r.region, r.status) for r in results] == [("North East", "ok"), ("Wales", "ok")]
    first, second = _seen(out, "north-east"), _seen(out, "wales")
    assert first["pid"] == second["pid"], "both regions ran in the same kernel"
    assert first["cwd"] == str(tmp_path / "notebooks")
    leaks = {key: (value, second[key]) for key, value in first.items() if second[key] != value}
    assert leaks == {}, "the second region found state left by the first"
    assert second["planted_globals"] == []
    assert second["env"] is None
    executed = nbformat.read(out / "wales" / batch.REGIONAL_NOTEBOOK, as_version=4)
    tags = [cell.metadata.get("tags", []) for cell in executed.cells]
    assert ["injected-parameters"] in tags, "still a papermill-executed notebook"
    assert "papermill" in executed.metadata
    counts = [cell.execution_count for cell in executed.cells]
    assert counts == [1, 2, 3, 4], "execution counts start again in each notebook"


@pytest.mark.slow
def test_a_kernel_that_dies_fails_its_job_and_the_next_gets_a_fresh_one(
    sample_release: Path, tmp_path: Path
) -> None:
    out = tmp_path / "figures"
    pids = tmp_path / "north-east.pids"
    results = batch.run_bulletins(
        ["North East", "Wales"],
        workers=1,
        data_dir=sample_release,
        out_dir=out,
        national=False,
        region_parameters={"North East": {"die": True, "pid_file": str(pids)}},
        notebooks_dir=_notebooks(tmp_path / "notebooks"),
    )
    north_east, wales = results
    assert north_east.status == "failed"
    assert "Kernel died" in north_east.error
    assert north_east.attempts == 2, "a dead kernel is retried once, as before"
    died = {int(pid) for pid in pids.read_text().split()}
    assert len(died) == 2, "the retry ran on a fresh kernel"
    assert wales.status == "ok"
    assert _seen(out, "wales")["pid"] not in died, "the next job got a fresh kernel"
    assert (out / "north-east" / "kernel.log").exists()
