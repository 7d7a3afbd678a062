"""The orchestrator: `run_pipeline` reads as the list of steps `probation run` performs."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from pipeline import clean, ingest, published, store, tables, tidy, validate
from pipeline.paths import PROCESSED_DIR, RAW_DIR
from pipeline.publication import write_publication

log = logging.getLogger(__name__)


class UnusableInputError(Exception):
    """The input cannot produce any output (no case files, or every file rejected whole)."""


@dataclass
class RunResult:
    """What a run did: accounting, rejections by rule, outputs written, timings."""

    out_dir: Path
    accounts: list[validate.FileAccount]
    published_accounts: list[dict]
    rejected_by_rule: dict[str, int]
    outputs: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    table_rows: dict[str, int] = field(default_factory=dict)

    @property
    def rows_read(self) -> int:
        return sum(a.rows_read for a in self.accounts)

    @property
    def rows_accepted(self) -> int:
        return sum(a.rows_accepted for a in self.accounts)

    @property
    def rows_rejected(self) -> int:
        return sum(a.rows_rejected for a in self.accounts)


StageCallback = Callable[[str], None]


def run_pipeline(
    raw_dir: Path = RAW_DIR,
    out_dir: Path = PROCESSED_DIR,
    on_stage: StageCallback | None = None,
) -> RunResult:
    """Ingest -> validate -> clean -> tidy -> published figures -> tables -> store."""
    timings: dict[str, float] = {}
    started = dt.datetime.now(dt.UTC)

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        if on_stage:
            on_stage(name)
        t0 = time.perf_counter()
        yield
        timings[name] = round(time.perf_counter() - t0, 3)
        log.debug("stage %s took %.2fs", name, timings[name])

    with stage("ingest"):
        reads = _ingest(raw_dir)
    with stage("validate"):
        checked = validate.validate(reads)
        for read in reads:  # raw text is no longer needed: free it before the big tables
            read.frame = None
    with stage("clean"):
        derived = clean.derive(checked.accepted.lazy())
    with stage("tidy"):
        derived = derived.sort(*tidy.CASE_KEY).collect().lazy()  # sorted once, used twice
        cases = tidy.cases_table(derived).collect()
        answers = tidy.answers_table(derived).collect()
        inspections = tidy.inspections_table(cases.lazy()).collect()
        checked.accepted = checked.accepted.clear()
        del derived
    with stage("published"):
        pub = published.read_published(raw_dir / ingest.PUBLISHED_SUBDIR, raw_dir)
    with stage("tables"):
        publication = tables.build_tables(cases, answers, inspections, pub.table)
    stored = {
        "cases": cases,
        "answers": answers,
        "inspections": inspections,
        "rejected": checked.rejected,
        "published": pub.table,
        "published_rejected": pub.rejected,
    }
    table_rows = {name: frame.height for name, frame in (stored | publication).items()}
    del cases, answers, inspections
    staging = store.begin(out_dir)
    with stage("publish"):
        publish_dir = staging / "tables"
        write_publication(publication, publish_dir)
    with stage("store"):
        parquet = {}
        for name in list(stored):
            parquet[name] = staging / f"{name}.parquet"
            store.write_parquet(stored.pop(name), parquet[name])
        store.write_csv(checked.rejected, staging / "rejected.csv")
        store.write_csv(pub.rejected, staging / "published_rejected.csv")
        parquet |= {name: publish_dir / f"{name}.parquet" for name in publication}
        store.build_duckdb(staging / "probation.duckdb", parquet)
    result = RunResult(
        out_dir=out_dir,
        accounts=checked.accounts,
        published_accounts=pub.accounts,
        rejected_by_rule=checked.rejected_by_rule(),
        outputs=[],
        timings=timings,
        table_rows=table_rows,
    )
    _write_manifest(staging / "manifest.json", raw_dir, out_dir, reads, result, started)
    result.outputs = store.commit(staging, out_dir)
    return result


def _ingest(raw_dir: Path) -> list[ingest.FileRead]:
    if not raw_dir.is_dir():
        raise UnusableInputError(f"input folder not found: {raw_dir}")
    files = ingest.find_case_files(raw_dir)
    if not files:
        raise UnusableInputError(
            f"no case files (CSV, XLSX or Parquet) under {raw_dir} "
            f"(files in {ingest.PUBLISHED_SUBDIR}/ are published figures, not cases). "
            "Run `probation sample` for the synthetic sample, or copy an export there."
        )
    reads = ingest.read_case_files(files, raw_dir)
    for read in reads:
        if read.rejected:
            log.error("file rejected: %s", read.error)
        elif read.unmapped_columns:
            log.info(
                "%s: ignored column(s) not in the contract: %s",
                read.display_name,
                ", ".join(read.unmapped_columns),
            )
    if all(r.rejected for r in reads):
        raise UnusableInputError(
            "every case file was rejected:\n" + "\n".join(f"  - {r.error}" for r in reads)
        )
    return reads


def _write_manifest(
    path: Path,
    raw_dir: Path,
    out_dir: Path,
    reads: list[ingest.FileRead],
    result: RunResult,
    started: dt.datetime,
) -> None:
    """Provenance of the run; the only output that holds times and versions."""
    inputs = []
    accounts = {a.source_file: a for a in result.accounts}
    for read in reads:
        entry = {"path": read.display_name, "sha256": store.sha256(read.path)}
        entry.update(
            {k: v for k, v in asdict(accounts[read.display_name]).items() if k != "source_file"}
        )
        inputs.append(entry)
    for account in result.published_accounts:
        entry = {
            "path": account["source_file"],
            "sha256": store.sha256(raw_dir / account["source_file"]),
            "kind": "published figures",
        }
        entry.update({k: v for k, v in account.items() if k != "source_file"})
        inputs.append(entry)
    manifest = {
        "package_version": store.package_version(),
        "git_commit": store.git_commit(),
        "polars_version": pl.__version__,
        "started_utc": started.isoformat(timespec="seconds"),
        "parameters": {"raw_dir": str(raw_dir), "out_dir": str(out_dir)},
        "inputs": inputs,
        "totals": {
            "rows_read": result.rows_read,
            "rows_accepted": result.rows_accepted,
            "rows_rejected": result.rows_rejected,
        },
        "rejected_by_rule": result.rejected_by_rule,
        "table_rows": result.table_rows,
        "timings_seconds": result.timings,
    }
    path.write_text(json.dumps(manifest, indent=2, default=str) + "\n")
