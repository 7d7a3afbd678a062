"""Repository checks shared by pre-commit and `./dev test`: no large files, no secrets, no
notebook outputs, no case-level data outside the synthetic sample.

Usage: python scripts/check_repo.py [FILE ...]   (no files: every file git tracks)
Exit 1 with one line per problem.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

MAX_BYTES = 5 * 1024 * 1024
SECRET_PATTERNS = {
    "private key": re.compile(rb"-----BEGIN (RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    "AWS access key": re.compile(rb"AKIA[0-9A-Z]{16}"),
    "GitHub token": re.compile(rb"gh[pousr]_[A-Za-z0-9]{36}"),
    "password assignment": re.compile(rb"(?i)\b(password|passwd|secret)\s*=\s*['\"][^'\"]{6,}"),
}
ALLOWED_DATA = ("data/raw/sample/", "data/raw/published/", "tests/")


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], capture_output=True, text=True, check=True)
    return [f for f in out.stdout.splitlines() if f]


def problems(files: list[str]) -> list[str]:
    found = []
    for name in files:
        path = Path(name)
        if not path.is_file():
            continue
        if path.stat().st_size > MAX_BYTES:
            found.append(f"{name}: larger than 5 MB")
        content = path.read_bytes()
        for label, pattern in SECRET_PATTERNS.items():
            if pattern.search(content) and name != "scripts/check_repo.py":
                found.append(f"{name}: looks like it contains a {label}")
        if name.endswith(".ipynb"):
            notebook = json.loads(content)
            for cell in notebook.get("cells", []):
                if cell.get("cell_type") == "code" and (
                    cell.get("outputs") or cell.get("execution_count")
                ):
                    found.append(f"{name}: has outputs (run nbstripout)")
                    break
        if (
            name.startswith("data/raw/")
            and not name.startswith(ALLOWED_DATA)
            and not name.endswith("README.md")
        ):
            found.append(f"{name}: raw data outside the synthetic sample must not be committed")
        if name.startswith(("data/processed/", "figures/")) and not name.endswith("README.md"):
            found.append(f"{name}: generated output is tracked")
    return found


def main() -> int:
    files = sys.argv[1:] or tracked_files()
    found = problems(files)
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
