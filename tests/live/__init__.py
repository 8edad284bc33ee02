"""Tests against Airflow's own running components (marked ``airflow_live``)."""

from __future__ import annotations

import contextlib

import pytest


def report_line(request: pytest.FixtureRequest, line: str) -> None:
    """A line on the terminal, past pytest's output capture (stack start-up and stop timings)."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        reporter.write_line(line)
