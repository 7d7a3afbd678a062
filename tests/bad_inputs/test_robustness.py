"""Crash safety (kill a run at random moments) and end-to-end determinism."""

from __future__ import annotations

import hashlib
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.bulletins import bulletin
from pipeline.run import run_pipeline
from pipeline.stages import rerun, store

GOLDEN = Path(__file__).parents[1] / "fixtures" / "golden_export.csv"


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and store.STAGING not in p.parts
        and p.name not in ("manifest.json", "probation.duckdb", rerun.RECORD_NAME)
    }


@pytest.mark.slow
def test_a_killed_run_leaves_old_or_new_outputs_never_a_mix(
    sample_dir: Path, tmp_path: Path
) -> None:
    old_raw, new_raw = tmp_path / "old", tmp_path / "new"
    old_raw.mkdir()
    shutil.copy(GOLDEN, old_raw / "export.csv")
    shutil.copytree(sample_dir, new_raw / "sample")
    reference = tmp_path / "reference"
    run_pipeline(new_raw, reference)
    new = _digests(reference)
    out = tmp_path / "out"
    rng = random.Random(20210626)
    outcomes = []
    for attempt in range(4):
        run_pipeline(old_raw, out) if attempt == 0 or outcomes[-1] == "new" else None
        old = _digests(out)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipeline",
                "run",
                "--raw",
                str(new_raw),
                "--out",
                str(out),
                "--quiet",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.5, 4.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        store.recover(out)  # what the next run does first
        now = _digests(out)
        assert now in (old, new), "a mix of old and new outputs"
        outcomes.append("old" if now == old else "new")
    run_pipeline(new_raw, out)  # re-running after a crash succeeds
    assert _digests(out) == new
    assert "old" in outcomes, "no kill landed before the commit: the test proved nothing"


@pytest.mark.slow
def test_two_full_runs_are_byte_identical(
    sample_run: Path, sample_dir: Path, tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(sample_dir, raw / "sample")
    from pipeline.config import PUBLISHED_DIR

    shutil.copytree(PUBLISHED_DIR, raw / "published")
    again = tmp_path / "again"
    run_pipeline(raw, again)
    first, second = _digests(sample_run), _digests(again)
    assert first.keys() == second.keys()
    differing = [name for name in first if first[name] != second[name]]
    assert differing == [], differing  # includes every Parquet, CSV and the workbook


def test_chart_files_are_byte_identical_across_runs(sample_release: Path, tmp_path: Path) -> None:
    """Specs, data, SVG and PNG: the renderer embeds no timestamp or random id."""
    for folder in ("a", "b"):
        report = bulletin.Bulletin.load(sample_release, "London", output_dir=tmp_path / folder)
        report.save()
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert a.keys() == b.keys()
    assert len(a) == 13 * 4  # London's 13 sections x SVG, spec, data, alt text
    assert [n for n in a if a[n] != b[n]] == []
