"""The test lanes: every test file lives in unit/, e2e/ or bad_inputs/, and the unit lane refuses
a test that needs the synthetic sample (so `./dev test --fast` stays fast by construction)."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).parents[1]
LANES = ("unit", "e2e", "bad_inputs")

pytest_plugins = ["pytester"]


def test_every_test_file_is_in_a_lane() -> None:
    outside = [
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("test_*.py")
        if path.relative_to(TESTS).parts[0] not in LANES
    ]
    assert outside == [], f"test files outside tests/unit, tests/e2e, tests/bad_inputs: {outside}"


@pytest.mark.parametrize("fixture", ["sample_run", "sample_release", "default_cases"])
def test_a_unit_test_that_needs_the_sample_is_refused(
    pytester: pytest.Pytester, fixture: str
) -> None:
    lane = pytester.mkpydir("tests")
    unit = lane / "unit"
    unit.mkdir()
    (unit / "__init__.py").write_text("")
    (unit / "conftest.py").write_text((TESTS / "unit" / "conftest.py").read_text())
    (lane / "conftest.py").write_text(
        f"import pytest\n\n@pytest.fixture\ndef {fixture}():\n    return 1\n"
    )
    (unit / "test_toy.py").write_text(
        f"def test_fast():\n    pass\n\n\ndef test_toy({fixture}):\n    pass\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:xdist", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*test_toy.py::test_toy uses {fixture}*move it to tests/e2e/*"])
