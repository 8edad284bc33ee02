"""The Celery configuration of a repo_digest deployment: Airflow's default, plus a warm worker.

Set ``[celery] celery_config_options = repo_digest.celery_config.CELERY_CONFIG``
(docker-compose.yaml does). The worker imports repo_digest.preload before it forks its
pool, so the task processes forked from the pool inherit LangChain, pandas and the
tokenizer instead of importing them once per task instance (see preload.py).
"""

from __future__ import annotations

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

CELERY_CONFIG = {
    **DEFAULT_CELERY_CONFIG,
    "imports": (*DEFAULT_CELERY_CONFIG.get("imports", ()), "repo_digest.preload"),
}
