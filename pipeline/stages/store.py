"""Store: deterministic Parquet/CSV files, a run manifest, atomic commit of a run's outputs.

Outputs are first written into `<out>/.staging/`. When every file is complete, a COMMIT list is
written there and each file is moved into place with `os.replace` (atomic per file). If a run is
killed before COMMIT exists, the staging folder is discarded and the previous outputs are intact;
if it is killed while moving files, the next run (or `recover`) finishes the moves from the
COMMIT list. Either way the folder ends up with the previous outputs or the new ones, not a mix.

Data files hold no timestamps and rows are sorted, so the same input gives byte-identical files;
run metadata (times, versions, git commit) lives only in `manifest.json`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import polars as pl

from pipeline.config import REPO_ROOT

log = logging.getLogger(__name__)

STAGING = ".staging"
COMMIT = "COMMIT"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def recover(out_dir: Path) -> str | None:
    """Finish or discard a previous run's staging folder; say which, or None if there was none."""
    staging = out_dir / STAGING
    if not staging.exists():
        return None
    commit = staging / COMMIT
    if commit.exists():
        for rel in json.loads(commit.read_text()):
            source = staging / rel
            if source.exists():
                (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, out_dir / rel)
        shutil.rmtree(staging)
        log.warning("finished moving the outputs of a run that was interrupted while committing")
        return "completed"
    shutil.rmtree(staging)
    log.warning("discarded partial outputs of an interrupted run; previous outputs are intact")
    return "discarded"


def begin(out_dir: Path) -> Path:
    """Recover from any interrupted run, then return a fresh, empty staging folder."""
    out_dir.mkdir(parents=True, exist_ok=True)
    recover(out_dir)
    staging = out_dir / STAGING
    staging.mkdir()
    return staging


def commit(staging: Path, out_dir: Path) -> list[str]:
    """Move every staged file into `out_dir`; returns the relative paths moved."""
    files = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file())
    (staging / COMMIT).write_text(json.dumps(files))
    for rel in files:
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / rel, out_dir / rel)
    shutil.rmtree(staging)
    return files


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Parquet with fixed settings (compression, statistics) so bytes depend only on data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path, compression="zstd", compression_level=3, statistics=True)


def escape_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text that a spreadsheet would run as a formula with an apostrophe.

    For CSV and XLSX meant to be opened in a spreadsheet (OWASP CSV-injection guidance);
    Parquet and the database keep the original text.
    """
    risky = "^[" + "".join("\\" + c if c in "+-" else c for c in FORMULA_PREFIXES) + "]"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(risky))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c, dtype in frame.schema.items()
        if dtype == pl.String
    )


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    """CSV for people: UTF-8, formula-safe text, ISO dates."""
    path.parent.mkdir(parents=True, exist_ok=True)
    escape_formulas(frame).write_csv(path)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks. Only a regular file is read (OSError otherwise):
    hashing a FIFO would wait for a writer forever."""
    import stat

    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path.name} is not a regular file")
    os.set_blocking(fd, True)
    with os.fdopen(fd, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def package_version() -> str:
    try:
        return metadata.version("probation-inspection-analytics")
    except metadata.PackageNotFoundError:
        return "unknown"


def git_commit() -> str | None:
    """The checkout's commit (with '-dirty' if files changed), or None outside a git checkout."""
    if not (REPO_ROOT / ".git").exists():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if dirty else head
