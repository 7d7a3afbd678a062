"""A clean start for each bulletin in a kernel that the batch reuses (runs inside the kernel).

Starting a kernel and importing Polars, Altair and vl-convert cost more than building a
bulletin, so each batch worker keeps one kernel for all its regions (`worker_kernel.py`). A
publication must not depend on which region ran before it in the same kernel, so before every
notebook `clean` puts back what a fresh kernel would have after those imports:

- the user namespace, execution counter, output cache and history (IPython's reset: no name a
  notebook defined survives, and `refuse_unknown_parameters` sees a fresh namespace);
- the working directory (the notebook's folder, where a fresh kernel starts);
- environment variables, `sys.path`, warning filters (and which warnings were already shown),
  the root logger, the `random` and NumPy global generators, Polars' display settings;
- Altair's themes, data transformers and renderers (a theme enabled by one region would style
  the next region's charts);
- every `pipeline` module's globals: names rebound, added or deleted are put back, and lists,
  dicts and sets of plain values are restored in place (so `from ... import PALETTE` copies see
  the restore too); `pipeline` modules first imported by a notebook are dropped, to be imported
  afresh; every `functools.cache` in `pipeline` is emptied except those in `PROCESS_SETUP`.

The first call in a kernel imports the modules the notebooks use (`WARM_MODULES`) and takes the
snapshot; later calls restore it. Modules outside `pipeline` imported later by a notebook stay
loaded (a C extension cannot be imported twice), and their own state is not reset: the
bulletin notebooks import nothing beyond `WARM_MODULES`.
"""

from __future__ import annotations

import copy
import functools
import gc
import importlib
import logging
import os
import random
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any

WARM_MODULES = (
    "polars",
    "numpy",
    "altair",
    "vl_convert",
    "jinja2",
    "typst",
    "font_source_sans_pro",
    "IPython.display",
    "pipeline.bulletins.bulletin",
    "pipeline.bulletins.document",
    "pipeline.bulletins.export",
    "pipeline.bulletins.sections",
    "pipeline.bulletins.theme",
)
"""What the bulletin notebooks import (directly or on their first chart, HTML or PDF)."""

PROCESS_SETUP = frozenset({"pipeline.bulletins.theme.register_font"})
"""Cached functions whose effect is on the process, the same for every region (registering
the chart font with vl-convert), so their cache is kept."""

PLAIN = (str, int, float, bool, bytes, type(None))


@dataclass
class Snapshot:
    """What a fresh kernel looks like after the warm imports."""

    environ: dict[str, str]
    path: list[str]
    warning_filters: list[Any]
    root_level: int
    root_handlers: list[logging.Handler]
    logging_disable: int
    random_state: object
    numpy_state: object
    altair: list[tuple[Any, dict[str, Any], str, dict[str, Any]]]
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    containers: dict[tuple[str, str], object] = field(default_factory=dict)


_snapshot: Snapshot | None = None


def clean(shell: Any, cwd: str) -> None:
    """Before a notebook: on a fresh kernel warm it up and take the snapshot, else restore it;
    then reset IPython's namespace and go to the notebook's folder."""
    global _snapshot
    if _snapshot is None:
        for name in WARM_MODULES:
            importlib.import_module(name)
        _snapshot = _take()
        # the warm imports stay for the kernel's life: keep the garbage collector from scanning
        # them again (IPython's reset collects after every notebook; 0.18 s, now a few ms)
        gc.freeze()
    else:
        _restore(_snapshot)
    shell.reset(new_session=True)
    os.chdir(cwd)


def _take() -> Snapshot:
    import numpy as np

    root = logging.getLogger()
    snap = Snapshot(
        environ=dict(os.environ),
        path=list(sys.path),
        warning_filters=list(warnings.filters),
        root_level=root.level,
        root_handlers=list(root.handlers),
        logging_disable=logging.root.manager.disable,
        random_state=random.getstate(),
        numpy_state=np.random.get_state(),
        altair=[(reg, dict(reg._plugins), reg.active, dict(reg.options)) for reg in _registries()],
    )
    for name, module in _pipeline_modules().items():
        namespace = dict(vars(module))
        snap.modules[name] = namespace
        for attr, value in namespace.items():
            if isinstance(value, list | dict | set) and _plain(value):
                snap.containers[(name, attr)] = copy.deepcopy(value)
    return snap


def _restore(snap: Snapshot) -> None:
    import numpy as np

    _restore_polars()  # before the environment: it unsets Polars' variables
    os.environ.clear()
    os.environ.update(snap.environ)
    sys.path[:] = snap.path
    module: Any = warnings  # its registry and cache reset are not in the type stubs
    module.filters[:] = snap.warning_filters
    module.onceregistry.clear()
    module._filters_mutated()  # forget which warnings were already shown
    root = logging.getLogger()
    root.setLevel(snap.root_level)
    root.handlers[:] = snap.root_handlers
    logging.disable(snap.logging_disable)
    random.setstate(snap.random_state)  # type: ignore[arg-type]
    np.random.set_state(snap.numpy_state)  # type: ignore[arg-type]
    for registry, plugins, active, options in snap.altair:
        registry._plugins.clear()
        registry._plugins.update(plugins)
        registry.enable(active, **options)
    _restore_modules(snap)


def _restore_modules(snap: Snapshot) -> None:
    """Every `pipeline` module's globals as they were; modules imported since are dropped."""
    for name in list(_pipeline_modules()):
        if name not in snap.modules:
            del sys.modules[name]
    for name, saved in snap.modules.items():
        namespace = vars(sys.modules[name])
        for attr in set(namespace) - set(saved):
            del namespace[attr]
        for attr, value in saved.items():
            if namespace.get(attr, _MISSING) is not value:
                namespace[attr] = value
            if (name, attr) in snap.containers and value != snap.containers[(name, attr)]:
                _refill(value, copy.deepcopy(snap.containers[(name, attr)]))
            if isinstance(value, functools._lru_cache_wrapper) and not _process_setup(value):
                value.cache_clear()


_MISSING = object()


def _process_setup(function: Any) -> bool:
    """Is this one of `PROCESS_SETUP` (by where it is defined: modules import it by name)?"""
    return f"{function.__module__}.{function.__qualname__}" in PROCESS_SETUP


def _refill(target: Any, saved: Any) -> None:
    """Put a list's, dict's or set's saved contents back into the same object."""
    target.clear()
    if isinstance(target, list):
        target.extend(saved)
    else:
        target.update(saved)


def _restore_polars() -> None:
    """Polars' settings to the defaults (those kept in environment variables come back with
    the environment, restored after this)."""
    import polars as pl

    pl.Config.restore_defaults()


def _registries() -> list[Any]:
    """Altair's global plugin registries: themes, data transformers, renderers."""
    import altair as alt
    from altair.vegalite.v6.theme import themes

    return [themes, alt.data_transformers, alt.renderers]


def _pipeline_modules() -> dict[str, Any]:
    """The loaded `pipeline` modules, this one aside (it holds the snapshot)."""
    return {
        name: module
        for name, module in list(sys.modules.items())
        if (name == "pipeline" or name.startswith("pipeline.")) and name != __name__
    }


def _plain(value: object) -> bool:
    """A value made only of plain data (copied and compared safely)."""
    if isinstance(value, PLAIN):
        return True
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return all(_plain(v) for v in value)
    return False
