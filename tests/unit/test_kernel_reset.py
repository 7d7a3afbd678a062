"""What `kernel_reset` restores between two notebooks in a reused kernel, checked in-process
(tests/e2e/test_batch_kernel_reuse.py checks the same through a real batch and kernel)."""

from __future__ import annotations

import os
import sys
import types
import warnings

from pipeline import refdata
from pipeline.bulletins import kernel_reset, theme


def test_restore_undoes_what_a_notebook_left_in_modules_and_the_process() -> None:
    palette = theme.PALETTE
    before = (theme.FONT, list(palette), len(warnings.filters), os.getcwd())
    refdata.regions()
    theme.register_font()
    snapshot = kernel_reset._take()
    theme.FONT = "Comic Sans MS"
    palette.append("#FF00FF")
    theme.PLANTED = True  # type: ignore[attr-defined]
    os.environ["PROBATION_TEST_PLANTED"] = "North East"
    warnings.simplefilter("ignore")
    sys.modules["pipeline.planted"] = types.ModuleType("pipeline.planted")
    try:
        kernel_reset._restore(snapshot)
    finally:
        sys.modules.pop("pipeline.planted", None)
        os.environ.pop("PROBATION_TEST_PLANTED", None)
    assert (theme.FONT, list(palette), len(warnings.filters), os.getcwd()) == before
    assert theme.PALETTE is palette, "restored in place: modules that imported it see it too"
    assert not hasattr(theme, "PLANTED")
    assert "PROBATION_TEST_PLANTED" not in os.environ
    assert "pipeline.planted" not in sys.modules, "a module a notebook imported is dropped"
    assert refdata.regions.cache_info().currsize == 0, "caches are emptied"
    assert theme.register_font.cache_info().currsize == 1, "process set-up is kept"
