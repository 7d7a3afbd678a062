"""The data dictionary covers every output column and matches the committed document."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import REPO_ROOT
from pipeline.outputs import dictionary


def test_every_output_column_is_described(sample_run: Path) -> None:
    assert dictionary.undescribed(sample_run) == []
    from pipeline.outputs.contracts import PUBLICATION_KEYS, STORED_KEYS

    expected = {*STORED_KEYS, *(f"tables/{name}" for name in PUBLICATION_KEYS)}
    assert set(dictionary.table_schemas(sample_run)) == expected


def test_committed_dictionary_is_current(sample_run: Path) -> None:
    committed = (REPO_ROOT / "docs" / "data-dictionary.md").read_text()
    assert committed == dictionary.render(sample_run), "run `probation docs` and commit"
