"""Integration test plumbing: remember each phase's outcome so fixtures can tell a failure."""

from __future__ import annotations

from collections.abc import Generator

import pytest

PHASE_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(PHASE_REPORTS, {})[report.when] = report
    return report


def failed(item: pytest.Item) -> bool:
    """Whether the test's setup or call phase failed (for printing engine logs)."""
    reports = item.stash.get(PHASE_REPORTS, {})
    return any(report.failed for report in reports.values())
