"""`probation release`: the publication step, apart from analysis.

A release takes an analysis run (`probation run`'s output folder), protects every table as the
registry declares (`tables/registry.py`), attacks the result together with the latest
earlier release of the series (`disclosure/revisions.py`), and writes an immutable, versioned
folder `<releases>/<release-id>/`:

    tables/<name>.parquet, tables/<name>.csv   protected tables
    tables/probation_inspection_tables.xlsx    the accessible workbook
    published.parquet                          real published figures (already public)
    release.json                               inputs' hashes, policy settings, revisions

and appends a row to `<releases>/index.csv`. Bulletins are built from a release only. When the
tables cannot be protected, nothing is written and `ReleaseRefused` names the cells that
blocked it and the options. Case-level data is never copied into a release.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pipeline import refdata
from pipeline.config import PROCESSED_DIR, RELEASES_DIR, Settings
from pipeline.disclosure import release_tables, revisions
from pipeline.disclosure.suppression import DisclosureBreach
from pipeline.outputs.publication import write_publication_workbook, write_tables
from pipeline.run import LOCK_NAME, UnusableInputError, check_publication, run_lock
from pipeline.stages import store
from pipeline.tables import build as tables
from pipeline.tables import registry

log = logging.getLogger(__name__)

INDEX_NAME = "index.csv"
MANIFEST_NAME = "release.json"
INDEX_SCHEMA = {
    "release_id": pl.String,
    "created_utc": pl.String,
    "status": pl.String,
    "inputs_sha256": pl.String,
    "previous_release": pl.String,
    "cells_revised": pl.Int64,
    "cells_held_back": pl.Int64,
    "tables_revised": pl.String,
    "suppression_threshold": pl.Int64,
}
CASE_TABLES = ("cases", "answers", "inspections", "prompt_answers", "rationales")


class ReleaseRefused(Exception):
    """The tables could not be protected: nothing was released (exit 2)."""


@dataclass
class ReleaseResult:
    """What a release wrote and what protecting it took."""

    release_id: str
    folder: Path
    previous: str | None
    summary: str
    cells_revised: int
    cells_held_back: int
    table_rows: dict[str, int] = field(default_factory=dict)


def make_release(
    data_dir: Path = PROCESSED_DIR,
    releases_dir: Path = RELEASES_DIR,
    threshold: int | None = None,
) -> ReleaseResult:
    """Protect the analysis run in `data_dir` and write it as a new release."""
    manifest = _analysis_manifest(data_dir)
    releases_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(releases_dir):
        previous_id = latest_release(releases_dir)
        earlier = [
            _read_tables(releases_dir / rid / "tables")
            for rid in read_index(releases_dir)["release_id"]
        ]
        publication = _protect(data_dir, earlier, threshold)
        check_publication(publication)
        revised, revised_tables = _check_revisions(publication, earlier)
        held = sum(
            int((t["suppression"] == "revision").sum())
            for n, t in publication.items()
            if "suppression" in t.columns
        )
        release_id = _new_id(releases_dir)
        entry = _manifest(release_id, manifest, publication, previous_id, revised, held)
        entry["tables_revised"] = revised_tables
        folder = _write(releases_dir, release_id, publication, data_dir, entry)
        _append_index(releases_dir, entry)
    report = publication.disclosure
    return ReleaseResult(
        release_id,
        folder,
        previous_id,
        report.summary() if report else "",
        revised,
        held,
        {name: frame.height for name, frame in publication.items()},
    )


def _analysis_manifest(data_dir: Path) -> dict[str, Any]:
    """The analysis run's manifest; a folder that holds no complete analysis run is refused."""
    path = data_dir / "manifest.json"
    missing = [n for n in (*CASE_TABLES, "published", "cohorts") if not _parquet(data_dir, n)]
    if not path.is_file() or missing:
        raise UnusableInputError(
            f"{data_dir} holds no complete analysis run (missing: "
            f"{', '.join(missing) or 'manifest.json'}): run `probation run` first"
        )
    manifest: dict[str, Any] = json.loads(path.read_text())
    return manifest


def _parquet(folder: Path, name: str) -> Path | None:
    path = folder / f"{name}.parquet"
    return path if path.is_file() else None


def _read_tables(folder: Path) -> dict[str, pl.DataFrame]:
    """The protected tables of an earlier release (what the public has)."""
    return {
        name: pl.read_parquet(folder / f"{name}.parquet", glob=False)
        for name in registry.names(registry.Protection.SUPPRESSED)
        if (folder / f"{name}.parquet").is_file()
    }


def _protect(
    data_dir: Path, earlier: list[dict[str, pl.DataFrame]], threshold: int | None
) -> tables.Publication:
    """The release tables; a breach becomes a refusal that names the cells."""
    read = {n: pl.read_parquet(data_dir / f"{n}.parquet", glob=False) for n in CASE_TABLES}
    data = tables.CaseData.of(
        read["cases"],
        read["answers"],
        read["inspections"],
        cohorts=pl.read_parquet(data_dir / "cohorts.parquet", glob=False),
        prompt_answers=read["prompt_answers"],
        rationales=read["rationales"],
    )
    models = {
        name: pl.read_parquet(data_dir / "tables" / f"{name}.parquet", glob=False)
        for name in registry.names(registry.Protection.MODEL)
    }
    published = pl.read_parquet(data_dir / "published.parquet", glob=False)
    try:
        return release_tables.build_release(
            data, models, published, earlier=earlier, threshold=threshold
        )
    except DisclosureBreach as exc:
        raise ReleaseRefused(_refusal(str(exc), exc.cells)) from None


def _refusal(reason: str, cells: list[str]) -> str:
    """What blocked the release and what the analyst can do about it."""
    more = f" (and {len(cells) - 10} more)" if len(cells) > 10 else ""
    return (
        f"{reason}.\nCells that blocked it{more}:\n  - "
        + "\n  - ".join(cells[:10] or ["(not identified)"])
        + "\nOptions: pool more inspections into the export; publish coarser periods "
        "(regional_period_types in pipeline/reference/settings.csv); publish England and Wales "
        "only; or raise the threshold (--threshold). The analysis outputs are unchanged and "
        "remain usable for the team's own work."
    )


def _check_revisions(
    publication: tables.Publication, earlier: list[dict[str, pl.DataFrame]]
) -> tuple[int, list[str]]:
    """The differencing attack between this release and every earlier one: a cell published
    in both whose change would fail the primary rule stops the release. Returns the number of
    cells revised against the latest earlier release, and their tables."""
    settings = publication.settings
    for release in earlier:
        for name, before in release.items():
            keys = registry.spec(name).keys
            disclosed = revisions.changes_disclosed(publication[name], before, keys, settings)
            if disclosed.height:
                raise ReleaseRefused(
                    f"table {name}: {disclosed.height} cell(s) would disclose a small "
                    f"revision against an earlier release, e.g. {disclosed.head(3).to_dicts()}"
                )
    if not earlier:
        return 0, []
    revised, names = 0, []
    for name, before in earlier[-1].items():
        changed = _count_revised(publication[name], before, registry.spec(name).keys)
        revised += changed
        names += [name] if changed else []
    return revised, names


def _count_revised(current: pl.DataFrame, earlier: pl.DataFrame, keys: tuple[str, ...]) -> int:
    joined = revisions._changes(current, earlier, keys)
    deltas = [c for c in joined.columns if c.startswith("_delta_")]
    if not deltas:
        return 0
    visible = ~pl.col("suppressed").fill_null(False) & ~pl.col("_was_suppressed").fill_null(True)
    changed = pl.any_horizontal(*[pl.col(d).fill_null(0) != 0 for d in deltas])
    return int(joined.select((visible & changed).sum()).item())


def latest_release(releases_dir: Path) -> str | None:
    """The id of the latest release in the index, or None for a new series."""
    index = read_index(releases_dir)
    return index["release_id"][-1] if index.height else None


def read_index(releases_dir: Path) -> pl.DataFrame:
    """The release log (empty with its columns when there is none yet). A log written by an
    earlier version lacks the columns added since: they are read as empty, never refused."""
    path = releases_dir / INDEX_NAME
    if not path.is_file():
        return pl.DataFrame(schema=INDEX_SCHEMA)
    frame = pl.read_csv(path, infer_schema=False, glob=False)
    return frame.select(
        (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in INDEX_SCHEMA.items()
    )


def _new_id(releases_dir: Path) -> str:
    """`YYYY-MM-DD-NN`: the date and the release's number on that date."""
    today = dt.datetime.now(dt.UTC).date().isoformat()
    taken = set(read_index(releases_dir)["release_id"]) | {p.name for p in releases_dir.iterdir()}
    number = 1
    while f"{today}-{number:02d}" in taken:
        number += 1
    return f"{today}-{number:02d}"


def _inputs_hash(manifest: dict[str, Any]) -> str:
    """One hash over the analysis run's inputs (their SHA-256s, in order)."""
    digest = hashlib.sha256()
    for entry in manifest.get("inputs", []):
        digest.update(f"{entry.get('path')}\0{entry.get('sha256')}\n".encode())
    return digest.hexdigest()


def _manifest(
    release_id: str,
    analysis: dict[str, Any],
    publication: tables.Publication,
    previous: str | None,
    revised: int,
    held: int,
) -> dict[str, Any]:
    settings: Settings = publication.settings
    report = publication.disclosure
    return {
        "release_id": release_id,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "status": tables.Status.RELEASE.value,
        "inputs_sha256": _inputs_hash(analysis),
        "analysis_run": {k: analysis.get(k) for k in ("started_utc", "git_commit", "totals")},
        "inputs": [{k: e.get(k) for k in ("path", "sha256")} for e in analysis.get("inputs", [])],
        "policy": asdict(settings),
        "previous_release": previous,
        "cells_revised": revised,
        "cells_held_back": held,
        "disclosure_control": asdict(report) if report else {},
        "tables": {name: registry.spec(name).protection.value for name in publication.tables},
        "package_version": store.package_version(),
        "publication": _publication(),
    }


def _publication() -> dict[str, Any]:
    """The publication settings the release was made under (reference/publication.csv): the
    same status and date wording as the workbook cover and the bulletins."""
    meta = refdata.publication()
    return {
        "status": meta.status,
        "statement": meta.date_line(),
        "publication_date": meta.publication_date.isoformat() if meta.publication_date else None,
        "next_update": meta.next_update.isoformat() if meta.next_update else None,
        "organisation": meta.organisation,
        "contact": meta.contact_team,
        "contact_email": meta.contact_email,
        "statistician": meta.statistician,
    }


def _write(
    releases_dir: Path,
    release_id: str,
    publication: tables.Publication,
    data_dir: Path,
    manifest: dict[str, Any],
) -> Path:
    """Write the release in a staging folder, then move it into place whole."""
    staging = releases_dir / f".staging-{release_id}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        write_tables(publication, staging / "tables")
        write_publication_workbook(publication, staging / "tables")
        shutil.copyfile(data_dir / "published.parquet", staging / "published.parquet")
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        for path in staging.rglob("*"):
            if path.is_file():
                path.chmod(0o444)  # immutable: a release is never edited, only superseded
        os.replace(staging, releases_dir / release_id)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return releases_dir / release_id


def _append_index(releases_dir: Path, manifest: dict[str, Any]) -> None:
    """Add the release to the log, replacing the file whole."""
    row = pl.DataFrame(
        [
            {
                "release_id": manifest["release_id"],
                "created_utc": manifest["created_utc"],
                "status": manifest["publication"]["status"],
                "inputs_sha256": manifest["inputs_sha256"],
                "previous_release": manifest["previous_release"],
                "cells_revised": manifest["cells_revised"],
                "cells_held_back": manifest["cells_held_back"],
                "tables_revised": " ".join(manifest["tables_revised"]),
                "suppression_threshold": manifest["policy"]["suppression_threshold"],
            }
        ],
        schema=INDEX_SCHEMA,
    )
    index = pl.concat([read_index(releases_dir), row])
    temporary = releases_dir / f".{INDEX_NAME}.tmp"
    index.write_csv(temporary)
    os.replace(temporary, releases_dir / INDEX_NAME)


__all__ = ["LOCK_NAME", "ReleaseRefused", "ReleaseResult", "latest_release", "make_release"]
