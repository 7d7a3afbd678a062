"""The house rules of the package: layers import one way, functions stay short, shared terms
and reference files have one home, and the CLI starts without loading the data stack."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import PACKAGE_DIR, REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
from function_lengths import long_functions

LAYERS = {
    "config": 0,
    "domain": 0,
    "terminal": 0,
    "refdata": 1,
    "stages": 2,
    "synthetic": 2,
    "statistics": 3,
    "tables": 4,
    "disclosure": 5,
    "outputs": 6,
    "run": 7,
    "release": 7,
    "bulletins": 8,
    "cli": 9,
    "__main__": 9,
}
"""Bottom to top: a module may import its own layer or any layer below, never above."""


def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts): path
        for path in PACKAGE_DIR.rglob("*.py")
    }


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1]] if len(parts) > 1 and parts[1] != "__init__" else 0


def _imports(path: Path) -> list[str]:
    """Every `pipeline...` module a file imports (at any depth, lazy imports included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pipeline"):
            found += [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("pipeline")]
    return found


def test_every_module_has_a_layer() -> None:
    for module in _modules():
        parts = module.split(".")
        assert len(parts) == 1 or parts[1] in LAYERS or parts[1] == "__init__", module


def test_imports_go_one_way_only() -> None:
    upward = []
    for module, path in _modules().items():
        for target in _imports(path):
            parts = target.split(".")
            if len(parts) < 2 or parts[1] not in LAYERS:
                continue
            if _layer(target) > _layer(module):
                upward.append(f"{module} imports {target}")
    assert upward == []


def test_functions_are_short_enough_to_read_at_once() -> None:
    assert long_functions(PACKAGE_DIR, limit=60) == []


def _string_constants(path: Path) -> list[str]:
    return [
        node.value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


@pytest.mark.parametrize(
    "term", ["England and Wales", "england-and-wales", "Multiple regions", "dipp_2025"]
)
def test_shared_terms_are_defined_once(term: str) -> None:
    """The national scope and other shared terms are written as a value only in domain.py."""
    holders = [module for module, path in _modules().items() if term in _string_constants(path)]
    assert holders == ["pipeline.domain"], holders


def test_only_refdata_reads_reference_files() -> None:
    readers = [
        module
        for module, path in _modules().items()
        if "REFERENCE_DIR" in path.read_text()
        and module not in ("pipeline.config", "pipeline.refdata")
    ]
    assert readers == []


def test_the_cli_starts_without_the_data_stack() -> None:
    """`probation --help` must be quick: importing the CLI loads no Polars, NumPy or Altair."""
    code = (
        "import sys, pipeline.cli; "
        "print(sorted(m for m in ('polars', 'numpy', 'altair', 'xlsxwriter', 'duckdb') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"
