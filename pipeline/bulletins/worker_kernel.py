"""One Jupyter kernel per batch worker, kept for all the worker's notebooks (runs in the worker).

Starting a kernel (about 0.55 s) and importing the data stack in it (about 1.25 s) cost more
than building a bulletin, and a fresh kernel per notebook paid both thirteen times a batch. The
worker's kernel is started once and warmed (the imports) by its first notebook; before each
notebook, `kernel_reset.clean` puts its namespace and process state back as they were after the
warm-up, so no region's state reaches another's publication.

The notebook still runs through papermill (parameters injected, outputs and metadata recorded,
the executed notebook as readers know it): `ReusedKernelEngine` is papermill's nbclient engine
with the worker's kernel manager handed to the client, which then neither starts nor stops the
kernel. A kernel that dies (or cannot be reset) is replaced by a fresh one for the next job.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import time
from pathlib import Path
from typing import IO, Any

from jupyter_core.utils import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines

log = logging.getLogger("papermill")

ENGINE_NAME = "probation-reused-kernel"
RESET_TIMEOUT = 120.0
"""Seconds for the reset before a notebook; the first one in a kernel also does the imports."""
RESET_FAILED = "Kernel reset failed"
HISTORY_IN_MEMORY = "--HistoryManager.hist_file=:memory:"
"""As nbclient starts kernels: parallel kernels sharing IPython's history database would wait
on its lock, and a batch has no use for the history."""
RESET_CODE = (
    "__import__('pipeline.bulletins.kernel_reset', fromlist=['clean'])"
    ".clean(get_ipython(), {cwd!r})"
)
"""Run silently (no history, no execution count) so it binds no name and leaves no trace."""


class KernelResetError(RuntimeError):
    """The kernel could not put back a clean namespace before a notebook."""


class WorkerKernel:
    """The worker's kernel: started when a notebook first needs it, replaced when it has died,
    shut down when the worker ends. Its standard error goes to one file (`log_path`), from which
    each job copies its own part into its region's kernel.log."""

    def __init__(self, kernel_name: str, manager_class: type, log_path: Path) -> None:
        self.kernel_name = kernel_name
        self.manager_class = manager_class
        self.log_path = log_path
        self.manager: Any = None
        self._stderr: IO[bytes] | None = None

    def started(self, cwd: str) -> Any:
        """The running kernel's manager, starting a fresh kernel (in `cwd`) if there is none
        or it has died."""
        running = self.manager is not None and self.manager.has_kernel
        if running and run_sync(self.manager.is_alive)():
            return self.manager
        self.discard()
        if self._stderr is None:
            self._stderr = self.log_path.open("ab")
        manager = self.manager_class(kernel_name=self.kernel_name)
        self.manager = manager
        run_sync(manager.start_kernel)(
            cwd=cwd, stderr=self._stderr, extra_arguments=[HISTORY_IN_MEMORY]
        )
        return manager

    def pid(self) -> int | None:
        """The kernel's process id, if one is running."""
        provisioner = getattr(self.manager, "provisioner", None)
        process = getattr(provisioner, "process", None)
        return getattr(process, "pid", None)

    def discard(self) -> None:
        """Shut the kernel down (asking first, so it removes its socket files) and forget it."""
        manager, self.manager = self.manager, None
        if manager is None:
            return
        try:
            if manager.has_kernel:
                run_sync(manager.shutdown_kernel)(now=False)
        except Exception as exc:  # a kernel that is already gone is no error
            log.debug("kernel shutdown: %s", exc)
        finally:
            run_sync(manager.cleanup_resources)()

    def close(self) -> None:
        """At the worker's end: the kernel stopped, its log removed."""
        self.discard()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        self.log_path.unlink(missing_ok=True)

    def log_size(self) -> int:
        """Where the kernel's standard error ends now (a job's part starts here)."""
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> bytes:
        """The kernel's standard error written since `offset`."""
        if not self.log_path.exists():
            return b""
        with self.log_path.open("rb") as fh:
            fh.seek(offset)
            return fh.read()


async def _clean_namespace(client: Any, cwd: str, **_: object) -> None:
    """nbclient's on-notebook-start hook: reset the kernel before the first cell runs. Waits
    for the reply itself, checking the kernel is alive, so a dead kernel fails the job quickly
    instead of after the whole timeout."""
    msg_id = client.kc.execute(RESET_CODE.format(cwd=cwd), silent=True, store_history=False)
    deadline = time.monotonic() + RESET_TIMEOUT
    while time.monotonic() < deadline:
        try:
            reply = await client.kc.get_shell_msg(timeout=1)
        except queue.Empty:
            if not await client.km.is_alive():
                raise KernelResetError(f"{RESET_FAILED}: the kernel died") from None
            continue
        if reply["parent_header"].get("msg_id") != msg_id:
            continue
        content = reply["content"]
        if content.get("status") != "ok":
            error = f"{content.get('ename', '')}: {content.get('evalue', '')}"
            raise KernelResetError(f"{RESET_FAILED}: {error}")
        return
    raise KernelResetError(f"{RESET_FAILED}: no reply in {RESET_TIMEOUT:.0f} s")


class ReusedKernelEngine(NBClientEngine):  # type: ignore[misc]  # papermill has no types
    """Papermill's nbclient engine on the worker's kernel (`worker_kernel=` in the engine
    arguments) instead of a kernel of its own."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: object = None,
        stderr_file: object = None,
        start_timeout: int = 60,
        execution_timeout: int | None = None,
        **kwargs: Any,
    ) -> Any:
        kernel: WorkerKernel = kwargs.pop("worker_kernel")
        for unused in ("input_path", "timeout", "startup_timeout", "kernel_manager_class"):
            kwargs.pop(unused, None)
        cwd = os.getcwd()  # papermill has moved to the notebook's working directory
        client = PapermillNotebookClient(
            nb_man,
            km=kernel.started(cwd),
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=log,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
            **kwargs,
        )
        client.on_notebook_start = functools.partial(_clean_namespace, client, cwd)
        try:
            return client.execute()
        except KernelResetError:
            kernel.discard()  # its state is unknown: the next job gets a fresh kernel
            raise
        finally:
            if client.kc is not None:
                client.kc.stop_channels()


papermill_engines.register(ENGINE_NAME, ReusedKernelEngine)
