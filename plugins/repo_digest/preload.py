"""What a task process of repo_digest needs, imported once in the process that forks them.

Each task instance runs in a process forked from a long-lived parent: a LocalExecutor
worker (itself started by the scheduler's forkserver when ``[scheduler] mp_start_method =
forkserver``) or a Celery pool process. Whatever that parent has imported, every task
process inherits for free; whatever it has not, every task process imports again. Measured
on 2 cores (docs/BENCHMARKS.md): LangChain/openai and the tokenizer's BPE table cost an
``llm_analyze`` instance ~1.5 CPU-s of its ~1.9, pandas ~0.4 CPU-s of each other task.

Name this module in ``[scheduler] mp_forkserver_preload`` (LocalExecutor) or in the Celery
worker's ``imports`` (repo_digest.celery_config); scripts/env.sh and docker-compose.yaml do.
Nothing here touches the network, a connection, the metadata DB or the store. A failure
is logged and swallowed: preloading is an optimisation, and an exception here would take
down the forkserver, and every task with it.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)


def warm() -> None:
    """Import and build, once, everything a task process would otherwise build itself."""
    # What Airflow's task runner imports to parse the DAG file, and what the DAG file imports.
    import airflow.dag_processing.dagbag  # noqa: F401
    import airflow.sdk.definitions.decorators  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401  (the DataFrame's XCom serializer)

    from repo_digest import dag_factory, pipeline, render, tokens  # noqa: F401
    from repo_digest.analysis import llm, rules  # noqa: F401
    from repo_digest.analysis.answer import CommitAnswer
    from repo_digest.analysis.llm_settings import LLMSettings

    tokens.encoding()  # the BPE table: ~0.5 CPU-s to load
    # A client and its structured-output wrapper, built without a request: LangChain and
    # openai import most of their modules lazily, on first use.
    offline = LLMSettings(conn_id="preload", model="preload", base_url="http://127.0.0.1:9/v1", api_key="preload")
    llm.default_chat_model(offline, 16).with_structured_output(CommitAnswer, method="function_calling", include_raw=True)


def _preload() -> None:
    started = time.monotonic()
    try:
        warm()
    except Exception as exc:  # an optimisation only: never fail the parent process
        log.warning("repo_digest.preload: task processes will import on their own (%s: %s)", type(exc).__name__, exc)
    else:
        log.info("repo_digest.preload: task-process modules imported in %.1fs", time.monotonic() - started)


_preload()
