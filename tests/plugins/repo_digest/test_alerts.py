from __future__ import annotations

import logging
from types import SimpleNamespace

from repo_digest import alerts

RECEIVED = []


def remember(context):
    RECEIVED.append(context)


def context():
    ti = SimpleNamespace(dag_id="repo_digest__a__b", task_id="llm_analyze", map_index=3, try_number=2)
    return {"ti": ti, "dag_run": SimpleNamespace(run_id="manual__x"), "exception": RuntimeError("HTTP 403")}


def test_a_failure_is_logged_naming_dag_run_task_try_and_error(caplog, monkeypatch):
    monkeypatch.delenv(alerts.CALLBACK_ENV, raising=False)
    with caplog.at_level(logging.ERROR):
        alerts.notify_failure(context())
    assert "dag repo_digest__a__b, run manual__x, task llm_analyze[3], try 2: RuntimeError: HTTP 403" in caplog.text


def test_the_users_callback_is_called(monkeypatch):
    monkeypatch.setenv(alerts.CALLBACK_ENV, f"{__name__}:remember")
    RECEIVED.clear()
    alerts.notify_failure(context())
    assert len(RECEIVED) == 1 and RECEIVED[0]["dag_run"].run_id == "manual__x"


def test_a_broken_callback_is_reported_not_raised(caplog, monkeypatch):
    monkeypatch.setenv(alerts.CALLBACK_ENV, "no_such_module_anywhere:f")
    with caplog.at_level(logging.ERROR):
        alerts.notify_failure(context())
    assert "The failure callback REPO_DIGEST_ON_FAILURE_CALLBACK=no_such_module_anywhere:f failed" in caplog.text
