"""In CI nothing skips silently: a test that would skip (a tool, a font, a package or a server missing) fails.

Locally a test skips, saying what is missing, so that a developer without Chromium or PostgreSQL can still run the
rest; CI (``CI=true``, as .ci/run is started) installs everything (scripts/test.sh), so a skip there means a test
that never ran. The hooks are imported by conftest.py; expected failures (xfail) are left as they are.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

__all__ = ["MACHINE_LIMIT", "in_ci", "pytest_make_collect_report", "pytest_runtest_makereport"]


def in_ci() -> bool:
    """Whether the tests run in CI: ``CI`` set to true (GitHub, GitLab and .ci/run's convention), 1 or yes."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


#: A skip whose reason starts so is the machine's, not a missing tool's (a kernel that refuses a tmpfs mount in a
#: container): installing cannot fix it, so it stays a skip in CI, saying so in the summary.
MACHINE_LIMIT = "not possible on this machine: "


def _fail_the_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    if not (report.skipped and in_ci()) or hasattr(report, "wasxfail"):
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    if reason.removeprefix("Skipped: ").startswith(MACHINE_LIMIT):
        return
    report.outcome = "failed"
    report.longrepr = (
        f"skipped in CI (CI=true): {reason.removeprefix('Skipped: ')}\n"
        "CI runs every test: install what it needs (scripts/test.sh does), or mark the test xfail with a reason"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, object, object]:
    report = yield
    assert isinstance(report, pytest.TestReport)
    _fail_the_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, object, object]:
    report = yield
    assert isinstance(report, pytest.CollectReport)
    _fail_the_skip(report)  # a module-level importorskip
    return report
