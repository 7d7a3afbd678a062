"""The bad-input corpus: each file a real user could produce, with its exact expected outcome
(tests/bad_inputs/expected.csv). Nothing crashes, nothing is lost, every rejection has a reason."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.stages import ingest, validate
from tests.helpers import rows_frame, valid_row

CORPUS = Path(__file__).parent / "corpus"
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
    assert "'=1+1" in text
    assert ",=1+1" not in text
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
    assert stats["read"] == n
    assert stats["accepted"] == n
    assert stats["rejected"] == 0
    assert time.perf_counter() - started < 180
    assert stats["peak_mb"] < 8000


EXIT_CODES = {"file_rejected": 2, "rows_rejected": 0, "normalised": 0}
"""The documented exit code of `probation validate FILE` for each outcome (README, Jobs)."""


def _tree(folder: Path, skip: str = "out") -> dict[str, bytes]:
    """Every file under `folder` (except under `skip`) with its content: what a run may not
    touch."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).parts[0] != skip
    }


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "400"}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        capture_output=True, text=True, errors="replace", cwd=cwd, env=env, timeout=300,
    )  # fmt: skip


def _assert_clean(done: subprocess.CompletedProcess[str]) -> None:
    """No abort (a negative code is a signal), no traceback, no raw control codes."""
    shown = done.stdout + done.stderr
    assert done.returncode >= 0, f"killed by signal {-done.returncode}"
    assert "Traceback" not in shown, shown[-3000:]
    assert "internal error" not in shown, shown[-3000:]
    assert "\x1b" not in shown
    assert "\x07" not in shown
    assert "\r" not in shown


def test_the_cli_runs_on_the_whole_corpus(tmp_path: Path) -> None:
    """`probation run` over every corpus file at once (beside the sample, so that disclosure
    control has enough cases to protect): exit 0, nothing written outside --out, each file
    read as expected.csv says, read = accepted + rejected."""
    import json
    import shutil

    from pipeline.config import SAMPLE_DIR

    shutil.copytree(SAMPLE_DIR, tmp_path / "raw" / "sample")
    for case in EXPECTED:
        shutil.copy(CORPUS / case["file"], tmp_path / "raw" / case["file"])
    _entries_git_cannot_hold(tmp_path / "raw")
    before = _tree(tmp_path)
    done = _cli(["run", "--raw", "raw", "--out", "out"], tmp_path)
    _assert_clean(done)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _tree(tmp_path) == before
    assert "pipe.csv: a named pipe (FIFO), not a regular file" in done.stderr
    assert "zero.csv: a character device, not a regular file" in done.stderr
    assert "export\\x1b[2J.csv" in done.stderr
    inputs = json.loads((tmp_path / "out" / "manifest.json").read_text())["inputs"]
    accounts = {entry["path"]: entry for entry in inputs}
    for case in EXPECTED:
        entry = accounts[case["file"]]
        # files share case ids, so across files some rows are duplicates: only `read` is fixed
        assert entry["rows_read"] == int(case["rows_read"]), case["file"]
        assert entry["rows_read"] == entry["rows_accepted"] + entry["rows_rejected"]
        assert (entry["file_error"] is not None) == (case["outcome"] == "file_rejected")


def _entries_git_cannot_hold(raw: Path) -> None:
    """Corpus entries made at test time: a FIFO, a link to a device that never ends, and a file
    name holding a terminal escape."""
    os.mkfifo(raw / "pipe.csv")
    (raw / "zero.csv").symlink_to("/dev/zero")
    (raw / "export\x1b[2J.csv").write_bytes((CORPUS / "bom.csv").read_bytes())


@pytest.mark.slow
@pytest.mark.parametrize("case", EXPECTED, ids=[c["file"] for c in EXPECTED])
def test_validate_on_each_corpus_file(tmp_path: Path, case: dict) -> None:
    """`probation validate FILE` on each corpus file: the documented exit code, no traceback
    or abort, nothing written, and the accounting it prints adds up."""
    import shutil

    shutil.copy(CORPUS / case["file"], tmp_path / case["file"])
    before = _tree(tmp_path)
    done = _cli(["validate", case["file"]], tmp_path)
    _assert_clean(done)
    assert done.returncode == EXIT_CODES[case["outcome"]], done.stderr[-3000:]
    assert _tree(tmp_path) == before
    [total] = [line for line in done.stderr.splitlines() if line.startswith("│ total")]
    read, accepted, rejected = (int(c.strip().replace(",", "")) for c in total.split("│")[2:5])
    assert (read, accepted, rejected) == (
        int(case["rows_read"]), int(case["rows_accepted"]), int(case["rows_rejected"])
    )  # fmt: skip
    assert read == accepted + rejected
