"""Shared fixtures: the default synthetic sample is generated once per test session."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.synthetic import sample


@pytest.fixture(scope="session")
def default_cases() -> pl.DataFrame:
    """Canonical cases of the bundled sample (default seed, scale 1)."""
    return sample.canonical_cases()


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample written to a temporary folder."""
    out = tmp_path_factory.mktemp("sample")
    sample.generate_sample(out)
    return out


@pytest.fixture(scope="session")
def sample_run(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`probation run` on the bundled sample plus the published figures; returns --out."""
    import shutil

    from pipeline.config import PUBLISHED_DIR
    from pipeline.run import run_pipeline

    raw = tmp_path_factory.mktemp("raw")
    shutil.copytree(sample_dir, raw / "sample")
    shutil.copytree(PUBLISHED_DIR, raw / "published")
    out = tmp_path_factory.mktemp("processed")
    run_pipeline(raw, out)
    return out


@pytest.fixture(scope="session")
def sample_release(sample_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`probation release` of the sample run; returns the release folder."""
    from pipeline.release import make_release

    return make_release(sample_run, tmp_path_factory.mktemp("releases")).folder
