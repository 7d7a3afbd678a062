"""The unit lane: small hand-built data only. A test here that asks for the synthetic sample or
a pipeline run is refused at collection, so the lane stays fast by construction; such a test
belongs in tests/e2e/."""

from __future__ import annotations

import pytest

SAMPLE_FIXTURES = frozenset({"default_cases", "sample_dir", "sample_run", "sample_release"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Fail the unit tests that ask for a sample fixture or are marked slow."""
    for item in items:
        if "tests/unit/" not in item.nodeid:
            continue
        uses = SAMPLE_FIXTURES & set(getattr(item, "fixturenames", ()))
        if uses or item.get_closest_marker("slow"):
            reason = f"uses {', '.join(sorted(uses))}" if uses else "is marked slow"
            raise pytest.UsageError(
                f"{item.nodeid} {reason}: a unit test uses small hand-built data; "
                "move it to tests/e2e/"
            )
