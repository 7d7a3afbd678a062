"""Reuse an analysis run when nothing it depends on has changed.

A run's outputs are a function of its inputs: the bytes of every case export and published-figures
file under --raw, the cohorts file, the worksheet choice, the reference data (settings included),
the package's own code and the versions of the libraries it uses. `input_key` hashes all of these;
`reusable` says whether the outputs of the last run made with that key are still in --out,
byte for byte (each file's SHA-256 is recorded at the end of a run and checked again). Anything
that cannot be hashed (a file that vanished, a FIFO) means no reuse: the run is done in full.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from pipeline import config, refdata
from pipeline.stages import ingest, store

RECORD_NAME: Final = ".rerun.json"
"""The record of the last complete run in --out: its input key, its outputs' hashes and its
summary. Hidden, and not one of the run's outputs."""
PACKAGE_NAME: Final = "probation-inspection-analytics"


def input_key(
    raw_dir: Path, cohorts_file: Path | None = None, sheet: str | None = None
) -> str | None:
    """SHA-256 over everything a run's outputs depend on; None when an input cannot be read."""
    digest = hashlib.sha256()
    try:
        for label, path in _input_files(raw_dir, cohorts_file):
            # a file name that is not valid UTF-8 arrives with surrogates: keep its bytes
            digest.update(f"{label}\0{store.sha256(path)}\n".encode("utf-8", "surrogateescape"))
        for path in refdata.reference_files():
            digest.update(
                f"reference/{path.parent.name}/{path.name}\0{store.sha256(path)}\n".encode()
            )
    except OSError:
        return None
    digest.update(f"sheet\0{sheet}\nraw\0{raw_dir.resolve()}\n".encode("utf-8", "surrogateescape"))
    digest.update(_code_fingerprint().encode())
    return digest.hexdigest()


def _input_files(raw_dir: Path, cohorts_file: Path | None) -> list[tuple[str, Path]]:
    """Case exports and published figures under `raw_dir` (as a run reads them), and cohorts."""
    files = [
        (f"case/{p.relative_to(raw_dir).as_posix()}", p) for p in ingest.find_case_files(raw_dir)
    ]
    published = raw_dir / ingest.PUBLISHED_SUBDIR
    if published.is_dir():
        files += [(f"published/{p.name}", p) for p in sorted(published.glob("*.csv"))]
    if cohorts_file is not None:
        files.append(("cohorts", cohorts_file))
    return files


def _tree(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _code_fingerprint() -> str:
    """The package's version, its source files (so an edited checkout is not mistaken for the
    code that made the outputs) and the installed versions of the libraries it depends on."""
    digest = hashlib.sha256(f"package\0{store.package_version()}\n".encode())
    for path in _tree(config.PACKAGE_DIR):
        if path.suffix == ".py":  # reference data is hashed on its own (input_key)
            rel = path.relative_to(config.PACKAGE_DIR).as_posix()
            digest.update(f"{rel}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    try:
        requires = metadata.requires(PACKAGE_NAME) or []
    except metadata.PackageNotFoundError:
        requires = []
    for requirement in sorted(requires):
        name = requirement.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip()
        try:
            digest.update(f"{name}\0{metadata.version(name)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}\0missing\n".encode())
    return digest.hexdigest()


def reusable(out_dir: Path, key: str | None) -> dict[str, Any] | None:
    """The summary recorded by the last run in `out_dir` if it had this key and every output
    it wrote is still there unchanged; otherwise None (the run must be done)."""
    record_path = out_dir / RECORD_NAME
    if key is None or not record_path.is_file() or (out_dir / store.STAGING).exists():
        return None
    try:
        record = json.loads(record_path.read_text())
        if record.get("key") != key:
            return None
        for rel, expected in record["outputs"].items():
            if store.sha256(out_dir / rel) != expected:
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    summary: dict[str, Any] = record["summary"]
    return summary


def forget(out_dir: Path) -> None:
    """Remove the record before outputs are replaced: an interrupted commit must not be reused."""
    (out_dir / RECORD_NAME).unlink(missing_ok=True)


def remember(out_dir: Path, key: str | None, outputs: list[str], summary: dict[str, Any]) -> None:
    """Record a complete run: its key, each output's hash, its summary (written atomically)."""
    if key is None:
        return
    record = {
        "key": key,
        "outputs": {rel: store.sha256(out_dir / rel) for rel in outputs},
        "summary": summary,
    }
    tmp = out_dir / f"{RECORD_NAME}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True, default=str) + "\n")
    os.replace(tmp, out_dir / RECORD_NAME)
