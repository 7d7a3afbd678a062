"""The bad-input corpus: each file a real user could produce, with its exact expected outcome
(tests/bad_inputs/expected.csv). Nothing crashes, nothing is lost, every rejection has a reason."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.stages import ingest, validate
from tests.helpers import rows_frame, valid_row

CORPUS = Path(__file__).parent / "bad_inputs"
with (CORPUS / "expected.csv").open() as _fh:
    EXPECTED = list(csv.DictReader(_fh))


def observe(path: Path) -> tuple[str, validate.FileAccount, validate.ValidationResult]:
    read = ingest.read_case_file(path, CORPUS)
    result = validate.validate([read])
    [account] = result.accounts
    if read.rejected:
        outcome = "file_rejected"
    elif account.rows_rejected:
        outcome = "rows_rejected"
    else:
        outcome = "normalised"
    return outcome, account, result


def test_corpus_has_at_least_25_inputs() -> None:
    assert len(EXPECTED) >= 25


@pytest.mark.parametrize("case", EXPECTED, ids=[c["file"] for c in EXPECTED])
def test_corpus_file(case: dict) -> None:
    outcome, account, result = observe(CORPUS / case["file"])
    assert outcome == case["outcome"], account.file_error
    assert (account.rows_read, account.rows_accepted, account.rows_rejected) == (
        int(case["rows_read"]),
        int(case["rows_accepted"]),
        int(case["rows_rejected"]),
    )
    assert account.rows_read == account.rows_accepted + account.rows_rejected
    text = account.file_error or "; ".join(
        [*result.rejected["reasons"].to_list(), *result.field_issues["issue"].to_list()]
    )
    assert case["contains"] in text
    assert (result.rejected["reasons"].str.len_chars() > 0).all()  # every rejection has a reason


def test_formula_like_cells_are_escaped_in_the_quarantine_csv(tmp_path: Path) -> None:
    from pipeline.run import run_pipeline

    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "f.csv").write_bytes((CORPUS / "formula_like_cells.csv").read_bytes())
    run_pipeline(raw, tmp_path / "out")
    text = (tmp_path / "out" / "rejected.csv").read_text()
    assert "'=1+1" in text and ",=1+1" not in text
    assert "'+44 PDU" in text


@pytest.mark.slow
def test_a_200_mb_export(tmp_path: Path) -> None:
    """A 200 MB CSV goes through validation in bounded time and memory, losing nothing."""
    row = rows_frame([valid_row()]).write_csv().splitlines()
    header, line = row[0], row[1]
    target = tmp_path / "big.csv"
    per_line = len(line) + 1
    n = 200 * 1024 * 1024 // per_line
    with target.open("w") as fh:
        fh.write(header + "\n")
        prefix, rest = line.split(",X1,", 1)
        for i in range(n):
            fh.write(f"{prefix},B{i},{rest}\n")
    assert target.stat().st_size > 200 * 1024 * 1024 * 0.98
    code = (
        "import resource, sys, time, json\n"
        "from pathlib import Path\n"
        "from pipeline.stages import ingest, validate\n"
        "t = time.perf_counter()\n"
        "read = ingest.read_case_file(Path(sys.argv[1]))\n"
        "result = validate.validate([read])\n"
        "a = result.accounts[0]\n"
        "print(json.dumps({'read': a.rows_read, 'accepted': a.rows_accepted,"
        " 'rejected': a.rows_rejected, 'seconds': time.perf_counter() - t,"
        " 'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, str(target)], capture_output=True, text=True, check=True
    )
    import json

    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    assert stats["read"] == n and stats["accepted"] == n and stats["rejected"] == 0
    assert time.perf_counter() - started < 180
    assert stats["peak_mb"] < 8000
