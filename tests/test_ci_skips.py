"""CI=true turns a skip into a failure (tests/ci_skips.py); locally a test still skips, saying why."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

TESTS = """
import pytest

def test_needs_a_tool():
    pytest.skip("Debian chromium is not installed")

@pytest.mark.skipif(True, reason="QGIS (Debian python3-qgis) is not installed")
def test_marked():
    pass

@pytest.fixture
def server():
    pytest.skip("PostgreSQL 15 not installed")

def test_needs_a_server(server):
    pass

@pytest.mark.xfail(reason="a known bug, until its fix lands", strict=True)
def test_known_bug():
    assert False

def test_runs():
    pass

def test_machine_cannot():
    pytest.skip("not possible on this machine: cannot mount a tmpfs: permission denied")
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest("from ci_skips import pytest_make_collect_report, pytest_runtest_makereport\n")
    pytester.makepyfile(test_tools=TESTS)
    return pytester


@pytest.mark.parametrize("ci", ["", "false", "0"])
def test_outside_ci_a_missing_tool_skips(suite: pytest.Pytester, monkeypatch, ci: str):
    monkeypatch.setenv("CI", ci)
    result = suite.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=4, xfailed=1)
    result.stdout.fnmatch_lines(["*Debian chromium is not installed*"])


@pytest.mark.parametrize("ci", ["true", "TRUE", "1", "yes"])
def test_in_ci_a_missing_tool_fails_naming_it(suite: pytest.Pytester, monkeypatch, ci: str):
    monkeypatch.setenv("CI", ci)
    result = suite.runpytest()
    # A skip in the test's body fails it; one in its setup (a skipif mark, a fixture) is an error of the setup.
    # A limit of the machine (not a tool to install) stays a skip, saying so.
    result.assert_outcomes(passed=1, failed=1, errors=2, xfailed=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    text = result.stdout.str()
    for reason in (
        "Debian chromium is not installed",
        "QGIS (Debian python3-qgis) is not installed",
        "PostgreSQL 15 not installed",
    ):
        assert f"skipped in CI (CI=true): {reason}" in text, text


@pytest.mark.parametrize(("ci", "outcome"), [("", {"skipped": 1}), ("true", {"errors": 1})])
def test_a_module_that_skips_whole_is_an_error_in_ci(pytester: pytest.Pytester, monkeypatch, ci, outcome):
    """``pytest.importorskip`` at module level: in CI the module is a collection error (the run stops on it)."""
    monkeypatch.setenv("CI", ci)
    pytester.makeconftest("from ci_skips import pytest_make_collect_report, pytest_runtest_makereport\n")
    pytester.makepyfile('import pytest\n\npytest.importorskip("no_such_package_here")\n')
    result = pytester.runpytest()
    result.assert_outcomes(**outcome)
    if ci:
        assert "skipped in CI (CI=true): could not import 'no_such_package_here'" in result.stdout.str()
