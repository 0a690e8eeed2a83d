"""Reports what the schemathesis run tried (operations, cases, seconds per token) at the end of the session."""

import pytest

FIGURES = pytest.StashKey[list[str]]()


def pytest_configure(config):
    config.stash[FIGURES] = []


def pytest_terminal_summary(terminalreporter, config):
    figures = config.stash.get(FIGURES, [])
    if figures:
        terminalreporter.section("schemathesis")
        for line in figures:
            terminalreporter.write_line(line)
