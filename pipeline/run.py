"""The orchestrator: `run_pipeline` reads as the list of steps `probation run` performs."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from pipeline import refdata
from pipeline.config import PROCESSED_DIR, RAW_DIR
from pipeline.stages import derive, ingest, published_figures, rerun, store, tidy, validate

if TYPE_CHECKING:
    from pipeline.tables import build as tables

# The table builders and writers (SciPy, statsmodels, DuckDB, the workbook) are imported where
# they are used, so a rerun whose outputs are kept returns before paying for their imports.

log = logging.getLogger(__name__)


class UnusableInputError(Exception):
    """The input cannot produce any output (no case files, or every file rejected whole)."""


@dataclass
class RunResult:
    """What a run did: accounting, rejections by rule, outputs written, timings."""

    out_dir: Path
    accounts: list[validate.FileAccount]
    published_accounts: list[dict[str, Any]]
    rejected_by_rule: dict[str, int]
    outputs: list[str]
    timings: dict[str, float] = field(default_factory=dict)
    table_rows: dict[str, int] = field(default_factory=dict)
    field_issues_by_column: dict[str, int] = field(default_factory=dict)
    inspections_lost: list[dict[str, Any]] = field(default_factory=list)
    reused: bool = False
    """True when the inputs had not changed since the last run and its outputs were kept."""

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
    prompt_answers: pl.DataFrame
    rationales: pl.DataFrame


VALIDATE_ENGINE: Final = "in-memory"
"""The Polars engine for validation (the default, streaming, elsewhere). Validation is one wide
query of about 90 rule flags and windowed duplicate checks, for which the streaming engine
(Polars 2's default) is far slower: 3.7 s against 0.44 s on the sample, byte-identical outputs.
The other stages keep streaming, which holds peak memory down at scale (docs/performance.md)."""


def run_pipeline(
    raw_dir: Path = RAW_DIR,
    out_dir: Path = PROCESSED_DIR,
    on_stage: StageCallback | None = None,
    cohorts_file: Path | None = None,
    sheet: str | None = None,
    force: bool = False,
) -> RunResult:
    """Ingest -> validate -> derive -> tidy -> published figures -> tables -> publish -> store.

    `cohorts_file` adds cohort definitions (same columns as reference/cohorts.csv) to the
    named cohorts every run tabulates; it is checked before any data is read. When the
    inputs, reference data and code are those of the last run in `out_dir` and its outputs are
    unchanged there, they are kept as they are (`RunResult.reused`); `force` runs anyway."""
    started = time.perf_counter()
    cohorts = load_cohorts(cohorts_file)
    _check_folders(raw_dir, out_dir)
    with run_lock(out_dir):
        key = rerun.input_key(raw_dir, cohorts_file, sheet)
        summary = None if force else rerun.reusable(out_dir, key)
        if summary is not None:
            log.info("inputs unchanged since the last run: its outputs are kept")
            return _reused(out_dir, summary, time.perf_counter() - started)
        _check_database_free(out_dir / "probation.duckdb")
        rerun.forget(out_dir)
        result = _run(raw_dir, out_dir, on_stage, cohorts, sheet)
        _remove_stale_wal(out_dir / "probation.duckdb")
        if rerun.input_key(raw_dir, cohorts_file, sheet) == key:  # not changed while running
            rerun.remember(out_dir, key, result.outputs, _summary(result))
    return result


def _summary(result: RunResult) -> dict[str, Any]:
    """What a reused run reports: the summary of the run that made the outputs."""
    return {
        "accounts": [asdict(account) for account in result.accounts],
        "published_accounts": result.published_accounts,
        "rejected_by_rule": result.rejected_by_rule,
        "outputs": result.outputs,
        "timings": result.timings,
        "table_rows": result.table_rows,
        "field_issues_by_column": result.field_issues_by_column,
        "inspections_lost": result.inspections_lost,
    }


def _reused(out_dir: Path, summary: dict[str, Any], seconds: float) -> RunResult:
    return RunResult(
        out_dir=out_dir,
        accounts=[validate.FileAccount(**account) for account in summary["accounts"]],
        published_accounts=summary["published_accounts"],
        rejected_by_rule=summary["rejected_by_rule"],
        outputs=summary["outputs"],
        timings={"reused": round(seconds, 3)},
        table_rows=summary["table_rows"],
        field_issues_by_column=summary["field_issues_by_column"],
        inspections_lost=summary["inspections_lost"],
        reused=True,
    )


def _check_folders(raw_dir: Path, out_dir: Path) -> None:
    """Refuse an output folder inside the input folder (later runs would read earlier outputs
    as exports) and one that cannot be written, before any work is done."""
    raw, out = raw_dir.resolve(), out_dir.resolve()
    if out == raw or raw in out.parents:
        raise UnusableInputError(
            f"the output folder {out_dir} is inside the input folder {raw_dir}: later runs would "
            "read this run's outputs as case exports; choose an --out outside --raw"
        )
    if out.exists() and not out.is_dir():
        raise UnusableInputError(f"--out {out_dir} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UnusableInputError(
            f"cannot write to the output folder {out_dir}: {exc.strerror}"
        ) from None


@contextmanager
def run_lock(out_dir: Path) -> Iterator[None]:
    """One run at a time per output folder: a second run exits with a message instead of mixing
    its files with the first's (or removing the first's staging folder as 'interrupted')."""
    import fcntl

    with (out_dir / LOCK_NAME).open("a") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UnusableInputError(
                f"another run is writing to {out_dir}; wait for it to finish, or use another --out"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


LOCK_NAME = ".run.lock"


def _check_database_free(database: Path) -> None:
    """Stop before the work if another program holds the database open for writing (an
    analyst's read-write session): its file could not be replaced cleanly."""
    if not database.exists():
        return
    import duckdb

    try:
        duckdb.connect(str(database)).close()  # also checkpoints a matching WAL into the file
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise UnusableInputError(
                f"{database} is open for writing in another program (a DuckDB or Python "
                "session): close it (read-only sessions are fine) and run again"
            ) from None
    except duckdb.Error:
        pass  # unreadable or a WAL that does not match: the file is replaced, the WAL removed


def _remove_stale_wal(database: Path) -> None:
    """The new database is complete in itself: a write-ahead log left beside the old one would
    make DuckDB refuse to open the new file."""
    wal = database.with_name(database.name + ".wal")
    if wal.exists():
        wal.unlink()
        log.info("removed %s left by a previous session", wal.name)


def _run(
    raw_dir: Path,
    out_dir: Path,
    on_stage: StageCallback | None,
    cohorts: pl.DataFrame,
    sheet: str | None,
) -> RunResult:
    """The analysis run as its steps, in order, each timed by its name (the output folder is
    locked). Memory is released and work overlapped inside the steps, never between them."""
    from pipeline.tables import build as tables

    timer = _Timer(on_stage)
    started = dt.datetime.now(dt.UTC)
    with timer.stage("ingest"):
        reads = _ingest(raw_dir, sheet)
    with timer.stage("validate"):
        checked = _validate(reads)
    with timer.stage("derive"):
        derived = derive.derive(checked.accepted.lazy())
    with timer.stage("tidy"):
        case_tables = _tidy(derived, checked)
    with timer.stage("published"):
        pub = published_figures.read_published(raw_dir / ingest.PUBLISHED_SUBDIR, raw_dir)
    with timer.stage("tables"):
        publication = tables.build_analysis(_case_data(case_tables, cohorts), pub.table)
    stored = _stored(case_tables, checked, pub, cohorts)
    with timer.stage("contracts"):
        _check_contracts(stored, publication)
    result = _result(out_dir, checked, pub, stored, publication, timer)
    with timer.stage("store"):
        staging = store.begin(out_dir)
        try:
            _write_outputs(staging, stored, publication, out_dir / "probation.duckdb")
            _write_manifest(staging / "manifest.json", raw_dir, out_dir, reads, result, started)
        except BaseException:  # disk full, Ctrl-C, a failed write: the previous outputs stay
            shutil.rmtree(staging, ignore_errors=True)  # and the half-written files go
            raise
        result.outputs = store.commit(staging, out_dir)
    return result


def _validate(reads: list[ingest.FileRead]) -> validate.ValidationResult:
    """Validation on the in-memory engine; the raw text is freed once it is checked."""
    with pl.Config(engine_affinity=VALIDATE_ENGINE):
        checked = validate.validate(reads)
    for read in reads:  # raw text is no longer needed: free it before the big tables
        read.frame = None
    return checked


def _case_data(case_tables: _CaseTables, cohorts: pl.DataFrame) -> tables.CaseData:
    from pipeline.tables import build as tables

    return tables.CaseData.of(
        case_tables.cases,
        case_tables.answers,
        case_tables.inspections,
        cohorts=cohorts,
        prompt_answers=case_tables.prompt_answers,
        rationales=case_tables.rationales,
    )


def _stored(
    case_tables: _CaseTables,
    checked: validate.ValidationResult,
    pub: published_figures.PublishedResult,
    cohorts: pl.DataFrame,
) -> dict[str, pl.DataFrame]:
    """Every table stored beside the analysis tables, by name."""
    return {
        "cases": case_tables.cases,
        "answers": case_tables.answers,
        "inspections": case_tables.inspections,
        "prompt_answers": case_tables.prompt_answers,
        "rationales": case_tables.rationales,
        "rejected": checked.rejected,
        "field_issues": checked.field_issues,
        "published": pub.table,
        "published_rejected": pub.rejected,
        "cohorts": cohorts,
    }


def _result(
    out_dir: Path,
    checked: validate.ValidationResult,
    pub: published_figures.PublishedResult,
    stored: dict[str, pl.DataFrame],
    publication: tables.Publication,
    timer: _Timer,
) -> RunResult:
    """What the run did, for the summary and the manifest (outputs filled in at commit)."""
    return RunResult(
        out_dir=out_dir,
        accounts=checked.accounts,
        published_accounts=pub.accounts,
        rejected_by_rule=checked.rejected_by_rule(),
        field_issues_by_column=checked.field_issues_by_column(),
        inspections_lost=checked.inspections_lost().to_dicts(),
        outputs=[],
        timings=timer.timings,
        table_rows={name: frame.height for name, frame in (stored | publication.tables).items()},
    )


def load_cohorts(path: Path | None) -> pl.DataFrame:
    """The reference cohorts plus those in `path`; a bad file is unusable input."""
    base = refdata.cohorts()
    if path is None:
        return base
    try:  # read as bytes: a literal path (no glob), and a FIFO is refused, not waited on
        extra = pl.read_csv(io.BytesIO(ingest.read_regular(path)), infer_schema_length=0)
        added = refdata.parse_cohorts(extra, path.name)
    except (
        OSError,
        ValueError,
        pl.exceptions.PolarsError,
        refdata.ReferenceDataError,
    ) as exc:
        raise UnusableInputError(f"cohort file {path}: {exc}") from None
    clash = sorted(set(added["cohort"]) & set(base["cohort"]))
    if clash:
        raise UnusableInputError(f"cohort file {path}: already defined: {', '.join(clash)}")
    return pl.concat([base, added])


def _check_contracts(stored: dict[str, pl.DataFrame], publication: tables.Publication) -> None:
    """Every table meets its declared contract, or the run stops before anything is written."""
    from pipeline.outputs import contracts

    threshold = publication.settings.suppression_threshold
    contracts.check_case_tables(stored["cases"], stored["answers"])
    contracts.check_tables(stored, contracts.STORED_KEYS, threshold)
    check_publication(publication)


def check_publication(publication: tables.Publication) -> None:
    """The publication tables' contracts; released tables also hold no visible small cell."""
    from pipeline.outputs import contracts
    from pipeline.tables import build as tables

    settings = publication.settings
    released = publication.status is tables.Status.RELEASE
    contracts.check_tables(
        publication.tables,
        contracts.PUBLICATION_KEYS,
        settings.suppression_threshold if released else 0,
        settings.min_outcome_count if released else 0,
    )


def _tidy(derived: pl.LazyFrame, checked: validate.ValidationResult) -> _CaseTables:
    """The case tables; the accepted rows they came from are released afterwards."""
    derived = derived.sort(*tidy.CASE_KEY).collect().lazy()  # sorted once, used twice
    cases = tidy.cases_table(derived).collect()
    answers = tidy.answers_table(derived).collect()
    inspections = tidy.inspections_table(cases.lazy()).collect()
    prompts = tidy.prompt_answers_table(derived).collect()
    rationales = tidy.rationales_table(derived).collect()
    checked.accepted = checked.accepted.clear()
    return _CaseTables(cases, answers, inspections, prompts, rationales)


def _write_outputs(
    staging: Path,
    stored: dict[str, pl.DataFrame],
    publication: tables.Publication,
    previous_database: Path | None = None,
) -> None:
    """Analysis tables and workbook, quarantine files, case tables and the database.

    The workbook (pure Python) is written in a worker thread while this one writes Parquet and
    loads DuckDB, which release the GIL: on two cores that hides most of the workbook's time.
    Frames are written and released one by one, so memory does not hold two copies."""
    from pipeline.outputs import database
    from pipeline.outputs.publication import write_publication_workbook, write_tables

    publish_dir = staging / "tables"
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbook") as pool:
        write_tables(publication, publish_dir)
        workbook = pool.submit(write_publication_workbook, publication, publish_dir)
        store.write_csv(stored["rejected"], staging / "rejected.csv")
        store.write_csv(stored["field_issues"], staging / "field_issues.csv")
        store.write_csv(stored["published_rejected"], staging / "published_rejected.csv")
        parquet = {}
        for name in list(stored):
            parquet[name] = staging / f"{name}.parquet"
            store.write_parquet(stored.pop(name), parquet[name])
        parquet |= {name: publish_dir / f"{name}.parquet" for name in publication}
        for message in database.build_duckdb(
            staging / "probation.duckdb", parquet, previous=previous_database
        ):
            log.warning(message)
        workbook.result()


def _ingest(raw_dir: Path, sheet: str | None = None) -> list[ingest.FileRead]:
    if not raw_dir.is_dir():
        raise UnusableInputError(f"input folder not found: {raw_dir}")
    files = ingest.find_case_files(raw_dir)
    for name, reason in ingest.skipped_files(raw_dir):
        likely_export = Path(name).suffix.lower() in ingest.SKIP_REASONS
        log.log(logging.WARNING if likely_export else logging.INFO, "skipped %s: %s", name, reason)
    if not files:
        raise UnusableInputError(
            f"no case files (CSV, XLSX or Parquet) under {raw_dir} "
            f"(files in {ingest.PUBLISHED_SUBDIR}/ are published figures, not cases). "
            "Run `probation sample` for the synthetic sample, or copy an export there."
        )
    reads = ingest.read_case_files(files, raw_dir, sheet=sheet)
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


def _hash_if_present(path: Path) -> str:
    try:
        return store.sha256(path)
    except OSError:
        return "file no longer present"


def _write_manifest(
    path: Path,
    raw_dir: Path,
    out_dir: Path,
    reads: list[ingest.FileRead],
    result: RunResult,
    started: dt.datetime,
) -> None:
    """Provenance of the run; the only output that holds times and versions."""
    from pipeline.tables import build as tables

    inputs = []
    accounts = {a.source_file: a for a in result.accounts}
    for read in reads:
        entry = {"path": read.display_name, "sha256": read.sha256 or "not read"}
        entry.update(
            {k: v for k, v in asdict(accounts[read.display_name]).items() if k != "source_file"}
        )
        inputs.append(entry)
    for account in result.published_accounts:
        entry = {
            "path": account["source_file"],
            "sha256": _hash_if_present(raw_dir / account["source_file"]),
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
        "status": tables.Status.INTERNAL.value,
        "timings_seconds": result.timings,
    }
    path.write_text(json.dumps(manifest, indent=2, default=str) + "\n")
