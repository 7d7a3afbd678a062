"""The release log stays readable across versions: a log written before a column was added
(tables_revised) is read with that column empty, not refused with an internal error."""

from __future__ import annotations

from pathlib import Path

from pipeline.release import INDEX_NAME, INDEX_SCHEMA, read_index


def test_a_log_from_an_earlier_version_is_read(tmp_path: Path) -> None:
    (tmp_path / INDEX_NAME).write_text(
        "release_id,created_utc,status,inputs_sha256,previous_release,cells_revised,"
        "cells_held_back,suppression_threshold\n"
        "2026-12-07-01,2026-12-07T18:16:00+00:00,published,abc,,0,0,10\n"
    )
    index = read_index(tmp_path)
    assert index.columns == list(INDEX_SCHEMA)
    assert index["release_id"].to_list() == ["2026-12-07-01"]
    assert index["cells_held_back"].to_list() == [0]
    assert index["tables_revised"].null_count() == 1
