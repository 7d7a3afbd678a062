"""A rerun on unchanged inputs keeps the previous run's outputs; any change runs in full."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline import config, refdata
from pipeline.run import run_pipeline
from pipeline.stages import rerun

GOLDEN = Path(__file__).parents[1] / "fixtures" / "golden_export.csv"


def _snapshot(out: Path) -> dict[str, tuple[bytes, int]]:
    """Every output's bytes and modification time (the record and lock are not outputs)."""
    return {
        p.relative_to(out).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name not in (rerun.RECORD_NAME, ".run.lock")
    }


def test_unchanged_sample_rerun_keeps_the_outputs_untouched(sample_run: Path) -> None:
    raw = Path(json.loads((sample_run / "manifest.json").read_text())["parameters"]["raw_dir"])
    before = _snapshot(sample_run)
    result = run_pipeline(raw, sample_run)
    assert result.reused
    assert result.timings["reused"] < 1.0  # hashing inputs and outputs only
    assert _snapshot(sample_run) == before  # same bytes, not even rewritten
    assert result.rows_read == 11_250
    assert result.table_rows["answers"] > 100_000


@pytest.fixture
def golden(tmp_path: Path) -> tuple[Path, Path]:
    """A small export, run once: (raw folder, output folder)."""
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    shutil.copy(GOLDEN, raw / "export.csv")
    assert not run_pipeline(raw, out).reused
    return raw, out


def test_one_changed_byte_of_an_export_runs_in_full(golden: tuple[Path, Path]) -> None:
    raw, out = golden
    export = raw / "export.csv"
    text = export.read_bytes()
    export.write_bytes(text.replace(b"Cymru", b"cymru", 1))  # one byte
    result = run_pipeline(raw, out)
    assert not result.reused
    assert "tables" in result.timings
    assert run_pipeline(raw, out).reused  # and the new outputs are reused in turn


def test_a_changed_reference_file_runs_in_full(
    golden: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, out = golden
    reference = tmp_path / "reference"
    shutil.copytree(config.REFERENCE_DIR, reference)
    assert run_pipeline(raw, out).reused
    monkeypatch.setattr(refdata, "REFERENCE_DIR", reference)
    assert run_pipeline(raw, out).reused  # the same bytes elsewhere: same key
    regions = reference / "regions.csv"
    regions.write_bytes(regions.read_bytes() + b"\n")
    assert not run_pipeline(raw, out).reused


def test_force_and_a_changed_output_run_in_full(golden: tuple[Path, Path]) -> None:
    raw, out = golden
    assert not run_pipeline(raw, out, force=True).reused
    (out / "tables" / "kq_trend.csv").write_text("edited by hand\n")
    assert not run_pipeline(raw, out).reused
    assert (out / "tables" / "kq_trend.csv").read_text() != "edited by hand\n"
    assert run_pipeline(raw, out).reused
