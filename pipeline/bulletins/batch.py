"""`probation bulletins`: run the regional notebook for each region (and the national one) with
papermill, in parallel with bounded workers, keeping going when one fails.

Each worker keeps one kernel for all its notebooks (`worker_kernel.py`): starting a kernel and
importing the data stack in it cost more than a bulletin, so a kernel per notebook made a batch
of 13 take seven times one bulletin. Before each notebook the kernel's namespace and process
state are put back as a fresh kernel has them (`kernel_reset.py`), so no region's state reaches
another's publication.

Each job passes the kernel name and working directory explicitly, checks parameter names against
the notebook's `parameters` cell first (a typo is an error, not a silent default), retries a
kernel that fails to start once, writes a per-region log, the executed notebook and an HTML
rendering with code hidden into figures/<slug>/, and a summary table for the batch.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from dataclasses import fields as fields_of
from pathlib import Path
from typing import Any

from pipeline import refdata
from pipeline.config import FIGURES_DIR, NOTEBOOKS_DIR
from pipeline.domain import NATIONAL

log = logging.getLogger(__name__)

KERNEL_NAME = "probation"
REGIONAL_NOTEBOOK = "regional_bulletin.ipynb"
NATIONAL_NOTEBOOK = "national_overview.ipynb"
KERNEL_START_ERRORS = (
    "Kernel died before replying",
    "kernel_info",
    "Kernel didn't respond",
    "Kernel died",
    "timed out waiting for kernel",
    "Kernel reset failed",  # worker_kernel.RESET_FAILED: a kernel that cannot start clean
)


BATCH_ID_VARIABLE = "PROBATION_BATCH_ID"
"""Set by the batch for its workers: their kernels' socket files carry it, so the batch can
remove exactly its own when it ends (a kernel that is killed leaves them behind)."""
KERNEL_SOCKET_PREFIX = "probation-kernel-"


def ipc_kernel_manager() -> type:
    """A kernel manager that talks to kernels over Unix sockets instead of TCP ports.

    With TCP, kernels started at the same moment by parallel workers can pick the same free port
    ("Address already in use"); the kernel then dies and the client waits a minute for it.
    Each kernel gets its own socket path, so they cannot collide.
    """
    from jupyter_client.manager import AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: object) -> None:
            # an explicit, unique socket path: the default ('kernel-ipc' in the working
            # directory) is shared by kernels that parallel workers start at the same moment
            batch = os.environ.get(BATCH_ID_VARIABLE, "none")
            path = (
                Path(tempfile.gettempdir())
                / f"{KERNEL_SOCKET_PREFIX}{batch}-{uuid.uuid4().hex[:16]}"
            )
            kwargs.setdefault("connection_file", f"{path}.json")  # removed with the sockets
            super().__init__(transport="ipc", ip=str(path), **kwargs)

    return IPCKernelManager


class BatchInputError(ValueError):
    """The batch cannot start: unknown region, bad parameter name, missing notebook."""


@dataclass
class JobResult:
    """One notebook run."""

    region: str
    slug: str
    notebook: str
    status: str  # ok or failed
    seconds: float
    attempts: int
    error: str = ""


def select_regions(requested: list[str] | None) -> list[str]:
    """Canonical region names for the request; 'all' (or nothing) means all 12. Unknown names
    are rejected before anything runs."""
    names = refdata.region_names()
    if not requested or [r.lower() for r in requested] == ["all"]:
        return names
    aliases = refdata.region_aliases()
    chosen: list[str] = []
    unknown: list[str] = []
    for item in requested:
        canonical = aliases.get(refdata.normalise_label(item))
        if canonical:
            chosen.append(canonical)
        else:
            unknown.append(item)
    if unknown:
        raise BatchInputError(
            "not one of the 12 regions: "
            + ", ".join(repr(u) for u in unknown)
            + ". Choose from: "
            + ", ".join(names)
        )
    return list(dict.fromkeys(chosen))


def check_parameters(notebook: Path, parameters: dict[str, Any]) -> None:
    """Every parameter passed must exist in the notebook's parameters cell."""
    declared = _declared_parameters(notebook)
    unknown = sorted(set(parameters) - declared)
    if unknown:
        raise BatchInputError(
            f"{notebook.name} has no parameter(s) {', '.join(unknown)}; "
            f"it declares: {', '.join(sorted(declared))}"
        )


def _declared_parameters(notebook: Path) -> frozenset[str]:
    """The notebook's parameter names, read quietly: papermill logs an "Input Notebook" line
    per inspection, which named no region and repeated once per job on the console."""
    import papermill

    pm_log = logging.getLogger("papermill")
    level = pm_log.level
    pm_log.setLevel(logging.WARNING)
    try:
        return frozenset(papermill.inspect_notebook(str(notebook)))
    finally:
        pm_log.setLevel(level)


def check_kernel(kernel_name: str) -> None:
    """The Jupyter kernel must be installed (`./dev setup` registers 'probation')."""
    from jupyter_client.kernelspec import KernelSpecManager

    if kernel_name not in KernelSpecManager().find_kernel_specs():
        raise BatchInputError(
            f"Jupyter kernel {kernel_name!r} is not installed: run "
            "`./dev setup`, or `.venv/bin/python -m ipykernel install "
            f"--sys-prefix --name {kernel_name}`"
        )


def _region_log(folder: Path) -> tuple[logging.Logger, logging.Handler]:
    """Papermill's log (cell output included) into the region's bulletin.log, not the console."""
    handler = logging.FileHandler(folder / "bulletin.log", mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    pm_log = logging.getLogger("papermill")
    pm_log.addHandler(handler)
    pm_log.setLevel(logging.INFO)
    pm_log.propagate = False
    return pm_log, handler


def _execute(
    notebook: str, executed: Path, parameters: dict[str, Any], kernel_name: str, retries: int
) -> tuple[str, int]:
    """Run the notebook, retrying once when the kernel fails to start; returns the error text
    (empty on success) and the number of attempts."""
    import papermill

    from pipeline.bulletins.worker_kernel import ENGINE_NAME

    pm_log = logging.getLogger("papermill")
    attempts = 0
    while True:
        attempts += 1
        try:
            papermill.execute_notebook(
                notebook,
                str(executed),
                parameters=parameters,
                kernel_name=kernel_name,
                cwd=str(Path(notebook).parent),
                progress_bar=False,
                log_output=True,
                start_timeout=30,
                # written once at the end (a failed run keeps only its logs): saving it after
                # every cell cost a quarter of a second per notebook
                request_save_on_cell_execute=False,
                engine_name=ENGINE_NAME,
                worker_kernel=_kernel_for(kernel_name),
            )
            return "", attempts
        except Exception as exc:  # a failed region is reported, never fatal to the batch
            error = (
                f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1][:300]}"
                if str(exc).strip()
                else type(exc).__name__
            )
            kernel_start = any(marker in str(exc) for marker in KERNEL_START_ERRORS)
            pm_log.error("attempt %d failed: %s", attempts, error)
            if not (kernel_start and attempts <= retries):
                return error, attempts


_worker_kernel: Any = None
"""This worker process's kernel (a `worker_kernel.WorkerKernel`), made for its first job."""


def _kernel_for(kernel_name: str) -> Any:
    """The worker's kernel, kept across its jobs and shut down when the worker ends. Its
    standard error goes to a file named like the batch's socket files, so the batch removes
    it too if the worker is killed."""
    global _worker_kernel
    from multiprocessing import util

    from pipeline.bulletins.worker_kernel import WorkerKernel

    if _worker_kernel is not None and _worker_kernel.kernel_name != kernel_name:
        _worker_kernel.close()
        _worker_kernel = None
    if _worker_kernel is None:
        batch = os.environ.get(BATCH_ID_VARIABLE, "none")
        name = f"{KERNEL_SOCKET_PREFIX}{batch}-{uuid.uuid4().hex[:16]}.stderr"
        log_path = Path(tempfile.gettempdir()) / name
        _worker_kernel = WorkerKernel(kernel_name, ipc_kernel_manager(), log_path)
        # workers end through multiprocessing's exit, which runs its finalizers, not atexit
        util.Finalize(None, _worker_kernel.close, exitpriority=10)
    return _worker_kernel


@contextlib.contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """Send this worker's standard error to `path` (its kernel's goes to a file of its own,
    of which `run_notebook` adds the job's part): a kernel's own chatter ("KeyboardInterrupt
    caught in kernel") is not an error of the batch, and belongs in the region's folder, not
    the terminal."""
    with path.open("w") as target:
        saved = os.dup(2)
        os.dup2(target.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def run_notebook(
    notebook: str,
    region: str,
    parameters: dict[str, Any],
    out_dir: str,
    kernel_name: str = KERNEL_NAME,
    retries: int = 1,
) -> JobResult:
    """Execute one notebook with papermill on the worker's kernel (runs in a worker process;
    see `_kernel_for`); the notebook writes its own bulletin (HTML and PDF) beside its charts.
    It writes into a staging folder that replaces the region's folder whole when the notebook
    succeeds, so a pack is never half old and half new; a failed run keeps the previous pack
    and brings in only its logs."""
    slug = refdata.region_slug(region)
    folder = Path(out_dir) / slug
    staging = Path(out_dir) / f"{STAGING_PREFIX}{slug}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if "output_dir" in parameters:
        parameters = {**parameters, "output_dir": str(staging.resolve())}
    pm_log, handler = _region_log(staging)
    executed = staging / Path(notebook).name
    started = time.perf_counter()
    kernel = _kernel_for(kernel_name)
    kernel_log = kernel.log_size()
    try:
        with _stderr_to(staging / "kernel.log"):
            error, attempts = _execute(notebook, executed, parameters, kernel_name, retries)
    finally:
        pm_log.removeHandler(handler)
        handler.close()
        with (staging / "kernel.log").open("ab") as fh:  # the kernel's words during this job
            fh.write(kernel.log_since(kernel_log))
    if not error:
        relativise_notebook(executed, staging, folder)
        _swap_in(staging, folder)
    else:
        _keep_logs(staging, folder)
    return JobResult(
        region,
        slug,
        Path(notebook).name,
        "failed" if error else "ok",
        round(time.perf_counter() - started, 2),
        attempts,
        error,
    )


def relativise_notebook(executed: Path, staging: Path, folder: Path) -> None:
    """Keep no absolute machine path in an executed notebook: papermill writes the parameters
    it injected (data_dir, output_dir: the release and the staging folder) into a code cell
    and into the metadata with its input and output paths. Each path becomes relative to the
    pack's final folder (where a reader opens the notebook, and where Jupyter runs it), the
    staging folder becomes that folder ("."), and papermill's input path is the notebook's
    name in the repository's notebooks/ folder."""
    final = folder.resolve()
    text = executed.read_text()
    nb = json.loads(text)
    meta = nb.get("metadata", {}).get("papermill", {})
    if "input_path" in meta:
        meta["input_path"] = f"notebooks/{Path(meta['input_path']).name}"
    if "output_path" in meta:
        meta["output_path"] = Path(meta["output_path"]).name
    replacements = sorted(
        {str(staging.resolve()): ".", str(staging): "."}.items(), key=lambda kv: -len(kv[0])
    )

    def relative(value: str) -> str:
        for old, new in replacements:
            value = value.replace(old, new)
        path = Path(value)
        return os.path.relpath(path, final) if path.is_absolute() else value

    for name, value in list(meta.get("parameters", {}).items()):
        if isinstance(value, str):
            meta["parameters"][name] = relative(value)
    for cell in nb.get("cells", []):
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"])
            cell["source"] = _relative_assignments(source, relative)
    executed.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def _relative_assignments(source: str, relative: Callable[[str], str]) -> str:
    """The injected parameters cell with every string value passed through `relative`."""
    lines = []
    for line in source.splitlines():
        name, sep, value = line.partition(" = ")
        if sep and value.startswith('"') and value.endswith('"'):
            line = f"{name} = {json.dumps(relative(json.loads(value)))}"
        lines.append(line)
    return "\n".join(lines) + ("\n" if source.endswith("\n") else "")


STAGING_PREFIX = ".staging-"
"""Folders under --out where a worker builds a region's pack (named by slug and process id)."""


def _swap_in(staging: Path, folder: Path) -> None:
    """Replace the region's folder by the staged one: two renames on one file system."""
    old = folder.with_name(f".old-{folder.name}-{os.getpid()}")
    if folder.exists():
        os.replace(folder, old)
    os.replace(staging, folder)
    shutil.rmtree(old, ignore_errors=True)


def _keep_logs(staging: Path, folder: Path) -> None:
    """A failed run: the previous pack stays; its logs replace the old ones (the summary
    points to them) and the rest of the staged files go."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("bulletin.log", "kernel.log"):
        if (staging / name).exists():
            os.replace(staging / name, folder / name)
    shutil.rmtree(staging, ignore_errors=True)


RESERVED_PARAMETERS = frozenset({"region", "data_dir", "output_dir"})
"""Parameters the batch sets per region; `--param` may not override them, or regions would
write into one another's folders (or outside the output folder)."""


def _jobs(
    chosen: list[str],
    national: bool,
    data_dir: Path,
    out_dir: Path,
    notebooks_dir: Path,
    extra: dict[str, Any],
    per_region: dict[str, dict[str, Any]],
) -> list[tuple[str, str, dict[str, Any]]]:
    """(notebook, region, parameters) for every requested bulletin."""
    reserved = sorted(set(extra) & RESERVED_PARAMETERS)
    if reserved:
        raise BatchInputError(
            f"--param cannot set {', '.join(reserved)}: the batch sets them for each region "
            "(use --regions, --data-dir and --out instead)"
        )

    def params(region: str) -> dict[str, Any]:
        return {
            "region": region,
            "data_dir": str(Path(data_dir).resolve()),
            "output_dir": str((Path(out_dir) / refdata.region_slug(region)).resolve()),
            **extra,
            **per_region.get(region, {}),
        }

    jobs = [(str(notebooks_dir / REGIONAL_NOTEBOOK), r, params(r)) for r in chosen]
    if national:
        jobs.append((str(notebooks_dir / NATIONAL_NOTEBOOK), NATIONAL, params(NATIONAL)))
    return jobs


def _run_pool(
    jobs: list[tuple[str, str, dict[str, Any]]],
    workers: int,
    out_dir: Path,
    kernel: str,
    results: list[Any],
) -> None:
    """Run the jobs in spawned worker processes, appending to `results` as each ends; a worker
    that dies is a failed region. On an interruption (Ctrl-C, SIGTERM) the workers and the
    kernels they started are stopped before the exception goes on: nothing keeps writing
    bulletins after the command has ended."""
    # spawn, not fork: the parent has Polars' thread pool loaded, and forking it can deadlock
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        futures = {
            pool.submit(run_notebook, nb, region, params, str(out_dir), kernel): region
            for nb, region, params in jobs
        }
        for future in as_completed(futures):
            try:
                results.append(future.result())
            except Exception as exc:  # the worker itself died
                region = futures[future]
                slug = refdata.region_slug(region)
                error = f"{type(exc).__name__}: {exc}"
                results.append(JobResult(region, slug, "", "failed", 0.0, 1, error))
    except BaseException:
        _stop_workers(pool, out_dir)
        raise
    pool.shutdown(wait=True)


def _stop_workers(pool: ProcessPoolExecutor, out_dir: Path) -> None:
    """Terminate every worker and every process it started (kernels run in sessions of their
    own, so a terminal's Ctrl-C does not reach them), kill what is still alive after five
    seconds, and remove the workers' staging folders."""
    workers = set(getattr(pool, "_processes", None) or {})
    family = _descendants(workers)  # listed before any dies: orphans are re-parented
    _signal_all(family, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in family) and time.monotonic() < deadline:
        time.sleep(0.1)
    _signal_all([pid for pid in family if _alive(pid)], signal.SIGKILL)
    pool.shutdown(wait=False, cancel_futures=True)
    for pid in workers:
        for staging in Path(out_dir).glob(f"{STAGING_PREFIX}*-{pid}"):
            shutil.rmtree(staging, ignore_errors=True)


def _descendants(roots: set[int]) -> list[int]:
    """`roots` and every process below them (psutil: the process table on Linux, macOS and
    Windows alike, where reading /proc would find nothing and leave kernels running)."""
    import psutil

    found = set(roots)
    for pid in roots:
        with contextlib.suppress(psutil.Error):
            found |= {child.pid for child in psutil.Process(pid).children(recursive=True)}
    return sorted(found)


def _alive(pid: int) -> bool:
    """Is the process running (not gone, not a zombie waiting to be reaped)?"""
    import psutil

    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _signal_all(pids: list[int], signum: int) -> None:
    """Send `signum` to each process; one that has already gone is no error."""
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signum)


@contextlib.contextmanager
def _batch_scope() -> Iterator[None]:
    """While the batch runs: SIGTERM raises SystemExit(143) in the main thread (as Ctrl-C
    raises KeyboardInterrupt), so the clean-up below runs instead of the process vanishing;
    workers learn the batch id; afterwards the kernel socket files of this batch are
    removed, however it ended."""
    batch_id = uuid.uuid4().hex[:12]
    os.environ[BATCH_ID_VARIABLE] = batch_id
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if main else None
    try:
        yield
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        os.environ.pop(BATCH_ID_VARIABLE, None)
        for path in Path(tempfile.gettempdir()).glob(f"{KERNEL_SOCKET_PREFIX}{batch_id}-*"):
            with contextlib.suppress(OSError):
                path.unlink()


def _terminated(signum: int, _frame: object) -> None:
    """SIGTERM handler: end like `kill` would (exit 143), but through the clean-up."""
    raise SystemExit(128 + signum)


def run_bulletins(
    regions: list[str] | None = None,
    workers: int | None = None,
    data_dir: Path | None = None,
    out_dir: Path = FIGURES_DIR,
    national: bool = True,
    extra_parameters: dict[str, Any] | None = None,
    region_parameters: dict[str, dict[str, Any]] | None = None,
    notebooks_dir: Path = NOTEBOOKS_DIR,
    kernel_name: str = KERNEL_NAME,
) -> list[JobResult]:
    """Run every requested region's bulletin plus the national overview; never raises for a
    failing region (see the results), only for input that stops the batch from starting."""
    # here, not at the top: a worker imports this module for `run_notebook`, and the bulletin
    # and index modules bring in the release and disclosure code (1.3 s a worker) it never uses
    from pipeline.bulletins import bulletin, index_page

    chosen = select_regions(regions)
    for nb in (notebooks_dir / REGIONAL_NOTEBOOK, notebooks_dir / NATIONAL_NOTEBOOK):
        if not nb.exists():
            raise BatchInputError(f"notebook not found: {nb}")
    try:
        data_dir = Path(data_dir) if data_dir else bulletin.latest_release_dir()
        bulletin.check_release(data_dir)
    except bulletin.BulletinInputError as exc:
        raise BatchInputError(str(exc)) from None
    per_region = {select_regions([r])[0]: p for r, p in (region_parameters or {}).items()}
    jobs = _jobs(
        chosen, national, data_dir, out_dir, notebooks_dir, dict(extra_parameters or {}), per_region
    )
    for notebook, _, params in jobs:
        check_parameters(Path(notebook), params)
    check_kernel(kernel_name)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    results: list[JobResult] = []
    try:
        with _batch_scope():
            _run_pool(jobs, workers, out_dir, kernel_name, results)
    finally:  # interrupted too: the summary records the regions that did finish
        order = {r: i for i, r in enumerate([*chosen, NATIONAL])}
        results.sort(key=lambda r: order.get(r.region, 99))
        write_summary(results, Path(out_dir) / "bulletins_summary.csv")
    index_page.write_index(data_dir, Path(out_dir))
    return results


def write_summary(results: list[JobResult], path: Path) -> None:
    """One row per region's latest run (region, status, seconds, attempts, error): rows of
    regions not in this batch are kept, so a batch of two does not lose the others."""
    fields = [f.name for f in fields_of(JobResult)]
    rows: dict[str, dict[str, Any]] = {}
    if path.exists():
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                if set(row) == set(fields):
                    rows[row["region"]] = row
    for result in results:
        rows[result.region] = asdict(result)
    order = {r: i for i, r in enumerate([*refdata.region_names(), NATIONAL])}
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for region in sorted(rows, key=lambda r: order.get(r, 99)):
            writer.writerow(rows[region])
    os.replace(tmp, path)
