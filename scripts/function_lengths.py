"""List functions longer than a limit (default 60 lines): the house rule for readable code."""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def long_functions(root: Path, limit: int = 60) -> list[tuple[str, str, int]]:
    """(file, function, lines) for every function in `root` longer than `limit` lines."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > limit:
                    found.append((path.as_posix(), node.name, length))
    return found


if __name__ == "__main__":
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    rows = long_functions(Path(__file__).resolve().parent.parent / "pipeline", limit)
    for file, name, length in sorted(rows, key=lambda r: -r[2]):
        print(f"{length:5d}  {name}  ({file})")
    sys.exit(1 if rows else 0)
