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

from pipeline import refdata
from pipeline.analysis import tables
from pipeline.config import PROCESSED_DIR, RAW_DIR
from pipeline.outputs import contracts, database
from pipeline.outputs.publication import write_publication
from pipeline.stages import derive, ingest, published_figures, store, tidy, validate

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
    disclosure: str = ""
    disclosure_detail: dict = field(default_factory=dict)

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


class _Timer:
    """Times named stages (for the manifest) and tells the caller which one is running."""

    def __init__(self, on_stage: StageCallback | None) -> None:
        self.on_stage = on_stage
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.on_stage:
            self.on_stage(name)
        t0 = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - t0, 3)
        log.debug("stage %s took %.2fs", name, self.timings[name])


@dataclass
class _CaseTables:
    cases: pl.DataFrame
    answers: pl.DataFrame
    inspections: pl.DataFrame


def run_pipeline(
    raw_dir: Path = RAW_DIR,
    out_dir: Path = PROCESSED_DIR,
    on_stage: StageCallback | None = None,
    cohorts_file: Path | None = None,
) -> RunResult:
    """Ingest -> validate -> derive -> tidy -> published figures -> tables -> publish -> store.

    `cohorts_file` adds cohort definitions (same columns as reference/cohorts.csv) to the
    named cohorts every run tabulates; it is checked before any data is read."""
    cohorts = load_cohorts(cohorts_file)
    timer = _Timer(on_stage)
    started = dt.datetime.now(dt.UTC)
    with timer.stage("ingest"):
        reads = _ingest(raw_dir)
    with timer.stage("validate"):
        checked = validate.validate(reads)
        for read in reads:  # raw text is no longer needed: free it before the big tables
            read.frame = None
    stored, publication, pub = _compute(raw_dir, checked, cohorts, timer)
    with timer.stage("contracts"):
        _check_contracts(stored, publication)
    result = RunResult(
        out_dir=out_dir,
        accounts=checked.accounts,
        published_accounts=pub.accounts,
        rejected_by_rule=checked.rejected_by_rule(),
        outputs=[],
        timings=timer.timings,
        table_rows={name: frame.height for name, frame in (stored | publication.tables).items()},
    )
    if publication.disclosure is not None:
        result.disclosure = publication.disclosure.summary()
        result.disclosure_detail = asdict(publication.disclosure)
    staging = store.begin(out_dir)
    _write_outputs(staging, stored, publication, timer)
    _write_manifest(staging / "manifest.json", raw_dir, out_dir, reads, result, started)
    result.outputs = store.commit(staging, out_dir)
    return result


def _compute(
    raw_dir: Path, checked: validate.ValidationResult, cohorts: pl.DataFrame, timer: _Timer
) -> tuple[dict[str, pl.DataFrame], tables.Publication, published_figures.PublishedResult]:
    """Derive, tidy, read the published figures and build the tables: the stored tables, the
    publication and the published-figures result (for its accounting)."""
    with timer.stage("derive"):
        derived = derive.derive(checked.accepted.lazy())
    with timer.stage("tidy"):
        case_tables = _tidy(derived)
        checked.accepted = checked.accepted.clear()
        del derived
    with timer.stage("published"):
        pub = published_figures.read_published(raw_dir / ingest.PUBLISHED_SUBDIR, raw_dir)
    with timer.stage("tables"):
        publication = tables.build_tables(
            case_tables.cases,
            case_tables.answers,
            case_tables.inspections,
            pub.table,
            cohorts=cohorts,
        )
    stored = {
        "cases": case_tables.cases,
        "answers": case_tables.answers,
        "inspections": case_tables.inspections,
        "rejected": checked.rejected,
        "published": pub.table,
        "published_rejected": pub.rejected,
    }
    return stored, publication, pub


def load_cohorts(path: Path | None) -> pl.DataFrame:
    """The reference cohorts plus those in `path`; a bad file is unusable input."""
    base = refdata.cohorts()
    if path is None:
        return base
    try:
        extra = pl.read_csv(path, infer_schema_length=0)
        added = refdata.parse_cohorts(extra, path.name)
    except (OSError, pl.exceptions.PolarsError, refdata.ReferenceDataError) as exc:
        raise UnusableInputError(f"cohort file {path}: {exc}") from None
    clash = sorted(set(added["cohort"]) & set(base["cohort"]))
    if clash:
        raise UnusableInputError(f"cohort file {path}: already defined: {', '.join(clash)}")
    return pl.concat([base, added])


def _check_contracts(stored: dict[str, pl.DataFrame], publication: tables.Publication) -> None:
    """Every table meets its declared contract, or the run stops before anything is written."""
    settings = publication.settings
    threshold = settings.suppression_threshold
    contracts.check_case_tables(stored["cases"], stored["answers"])
    contracts.check_tables(stored, contracts.STORED_KEYS, threshold)
    contracts.check_tables(
        publication.tables, contracts.PUBLICATION_KEYS, threshold, settings.min_outcome_count
    )


def _tidy(derived: pl.LazyFrame) -> _CaseTables:
    derived = derived.sort(*tidy.CASE_KEY).collect().lazy()  # sorted once, used twice
    cases = tidy.cases_table(derived).collect()
    answers = tidy.answers_table(derived).collect()
    inspections = tidy.inspections_table(cases.lazy()).collect()
    return _CaseTables(cases, answers, inspections)


def _write_outputs(
    staging: Path,
    stored: dict[str, pl.DataFrame],
    publication: tables.Publication,
    timer: _Timer,
) -> None:
    """Publication tables and workbook, then case tables, quarantine files and the database.

    Frames are written and released one by one, so memory does not hold two copies."""
    publish_dir = staging / "tables"
    with timer.stage("publish"):
        write_publication(publication, publish_dir)
    with timer.stage("store"):
        store.write_csv(stored["rejected"], staging / "rejected.csv")
        store.write_csv(stored["published_rejected"], staging / "published_rejected.csv")
        parquet = {}
        for name in list(stored):
            parquet[name] = staging / f"{name}.parquet"
            store.write_parquet(stored.pop(name), parquet[name])
        parquet |= {name: publish_dir / f"{name}.parquet" for name in publication}
        database.build_duckdb(staging / "probation.duckdb", parquet)


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
        "disclosure_control": result.disclosure_detail,
        "timings_seconds": result.timings,
    }
    path.write_text(json.dumps(manifest, indent=2, default=str) + "\n")
