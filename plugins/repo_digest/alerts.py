"""Where a failing repo gets noticed: the ``on_failure_callback`` of every repo_digest task.

It always logs one line naming the DAG, run, task, try and error. To be told elsewhere
(Slack, e-mail, an incident tool), point ``REPO_DIGEST_ON_FAILURE_CALLBACK`` at a
function ``package.module:function`` that takes Airflow's task context, for example one
that calls an Airflow notifier. The function is imported when a task fails, not while the
DAG file is parsed, so a typo in it cannot take the DAGs down; it is reported in the log.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)

CALLBACK_ENV = "REPO_DIGEST_ON_FAILURE_CALLBACK"


def describe_failure(context: Mapping[str, Any]) -> str:
    ti = context.get("ti") or context.get("task_instance")
    run = context.get("dag_run")
    error = context.get("exception")
    return (
        f"repo_digest failure: dag {getattr(ti, 'dag_id', '?')}, run {getattr(run, 'run_id', '?')}, "
        f"task {getattr(ti, 'task_id', '?')}"
        f"{'' if getattr(ti, 'map_index', -1) in (-1, None) else f'[{ti.map_index}]'}, "
        f"try {getattr(ti, 'try_number', '?')}: {type(error).__name__ if error else 'error'}: {error}"
    )


def _user_callback(spec: str) -> Callable[[Mapping[str, Any]], Any]:
    module_name, _, function_name = spec.partition(":")
    if not module_name or not function_name:
        raise ValueError(f"{CALLBACK_ENV}={spec!r}: expected 'package.module:function'")
    return getattr(importlib.import_module(module_name), function_name)


def notify_failure(context: Mapping[str, Any]) -> None:
    log.error("%s", describe_failure(context))
    spec = os.environ.get(CALLBACK_ENV)
    if not spec:
        return
    try:
        _user_callback(spec)(context)
    except Exception:
        log.exception("The failure callback %s=%s failed", CALLBACK_ENV, spec)
