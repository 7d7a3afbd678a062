"""The bulletin batch on SIGTERM and Ctrl-C: it exits 143 or 130 with its workers and their
kernels stopped (none left writing bulletins), no staging folder or kernel socket file left
behind, and every region's pack either the previous one or a new one, never a mixture."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from pipeline.bulletins import batch
from pipeline.config import NOTEBOOKS_DIR


def _wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_batch_its_workers_and_kernels(
    sample_release: Path, tmp_path: Path, signum: int, code: int
) -> None:
    out = tmp_path / "figures"
    (out / "wales").mkdir(parents=True)
    (out / "wales" / "bulletin.html").write_text("the previous bulletin")
    sockets = Path(tempfile.mkdtemp(prefix="bt", dir="/tmp"))  # short: socket paths are limited
    command = [sys.executable, "-m", "pipeline", "bulletins", "--data", str(sample_release)]
    command += ["--out", str(out), "--regions", "Wales", "--workers", "1", "--no-national"]
    child = subprocess.Popen(
        command, env={**os.environ, "TMPDIR": str(sockets)}, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert _wait_for(lambda: list(sockets.glob("probation-kernel-*-[0-9]")), 120)
        family = _family(child.pid)
        assert len(family) >= 3  # the command, its worker and the kernel
        if signum == signal.SIGINT:
            os.killpg(child.pid, signum)  # Ctrl-C reaches the terminal's whole process group
        else:
            child.send_signal(signum)
        assert child.wait(timeout=60) == code, child.stdout.read() if child.stdout else ""
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    assert _wait_for(lambda: not any(_alive(pid) for pid in family), 10), family
    assert not list(out.glob(".staging-*"))
    assert not list(out.glob(".old-*"))
    assert list(sockets.glob("probation-kernel-*")) == []
    sockets.rmdir()  # empty, as it should be
    html = (out / "wales" / "bulletin.html").read_text()
    assert html == "the previous bulletin" or "Wales" in html


def _family(root: int) -> list[int]:
    """`root` and every process below it, from /proc (independent of the code under test)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found = {root}
    while grown := {pid for pid, parent in parents.items() if parent in found} - found:
        found |= grown
    return sorted(found)


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except (OSError, IndexError):
        return False


def _fake_notebook(monkeypatch: pytest.MonkeyPatch, fail: bool) -> None:
    """papermill replaced by a function that writes a chart into output_dir, then maybe fails."""
    import papermill

    def execute(notebook: str, output: str, parameters: dict, **kwargs: object) -> None:
        Path(parameters["output_dir"], "chart.png").write_text("new")
        if fail:
            raise RuntimeError("a cell failed")
        empty = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        Path(output).write_text(json.dumps(empty))  # papermill writes the executed notebook

    monkeypatch.setattr(papermill, "execute_notebook", execute)


@pytest.mark.parametrize("fail", [False, True])
def test_a_region_pack_is_replaced_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail: bool
) -> None:
    (tmp_path / "wales").mkdir()
    (tmp_path / "wales" / "old_chart.png").write_text("old")
    _fake_notebook(monkeypatch, fail)
    notebook = str(NOTEBOOKS_DIR / batch.REGIONAL_NOTEBOOK)
    params = {"region": "Wales", "output_dir": str(tmp_path / "wales")}
    result = batch.run_notebook(notebook, "Wales", params, str(tmp_path))
    names = sorted(p.name for p in (tmp_path / "wales").iterdir())
    if fail:
        assert result.status == "failed"
        assert names == ["bulletin.log", "kernel.log", "old_chart.png"]
        assert "a cell failed" in (tmp_path / "wales" / "bulletin.log").read_text()
    else:
        assert result.status == "ok"
        assert names == ["bulletin.log", "chart.png", "kernel.log", "regional_bulletin.ipynb"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wales"]


INTERRUPTED_QUERY = """
import os, signal, sys
from pipeline.outputs import database
def interrupted(*args, **kwargs):
    try:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while DuckDB runs a query...
        signal.pause()
    except KeyboardInterrupt:
        raise RuntimeError("Query interrupted") from None  # ...which DuckDB may report so
database.build_duckdb = interrupted
from pipeline.cli import main
sys.argv = ["probation", "run", "--raw", sys.argv[1], "--out", sys.argv[2], "--quiet"]
main()
"""


def test_ctrl_c_reported_by_duckdb_as_an_error_still_exits_130(tmp_path: Path) -> None:
    from tests.helpers import valid_row, write_csv

    rows = [valid_row(case_id=str(i), inspection_id=f"PDU-{i % 4}") for i in range(20)]
    write_csv(tmp_path / "raw" / "export.csv", rows)
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_QUERY, str(tmp_path / "raw"), str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 130, done.stderr[-1000:]
    assert "internal error" not in done.stderr
    assert "interrupted" in done.stderr
