"""Prints the reliability figures at the end of every session that ran part of the suite."""

from __future__ import annotations

import pytest

from tests.reliability import ledger


def pytest_sessionstart(session: pytest.Session) -> None:
    # Quick figures are per session; the soak's committed figures are replaced part by part.
    if not ledger.soak() and not hasattr(session.config, "workerinput"):
        ledger.results_path().unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    text = ledger.table()
    if text:
        terminalreporter.write_sep("=", "reliability")
        terminalreporter.write_line(text)
