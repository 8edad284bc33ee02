"""The Airflow pool ``llm_api`` that bounds concurrent LLM calls across every repo DAG.

Each ``llm_analyze`` instance makes one call at a time and takes one slot. A task whose
pool does not exist is never scheduled and never fails (Airflow logs "Tasks using
non-existent pool" and the UI shows it as scheduled), so the pool must exist wherever the
DAGs run: ``python -m repo_digest.admin setup`` creates or resizes it (the quickstart and
compose's airflow-init run it), and the scheduler creates it with the default size at the
start of a run of a repo DAG when it is missing (repo_digest.listeners), so a deployment
that only copied the files never waits.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

LLM_POOL = "llm_api"
DEFAULT_LLM_POOL_SLOTS = 16
DESCRIPTION = "repo_digest: concurrent LLM calls (one llm_analyze task instance each)"
SETUP_COMMAND = "python -m repo_digest.admin setup --llm-pool-slots N"


def default_slots() -> int:
    """REPO_DIGEST_LLM_POOL_SLOTS, else 16: the size the pool is created with."""
    return int(os.environ.get("REPO_DIGEST_LLM_POOL_SLOTS", DEFAULT_LLM_POOL_SLOTS))


def set_llm_pool(slots: int) -> None:
    """Create the pool or resize it to ``slots`` (idempotent)."""
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(LLM_POOL, slots=slots, description=DESCRIPTION, include_deferred=False)


def ensure_llm_pool() -> bool:
    """Create the pool with the default size if it does not exist; True when it was created.

    In a session of its own, not Airflow's thread-local one: called inside the scheduler's
    transaction, that one would be the scheduler's, committed and closed under it.
    """
    from airflow import settings
    from airflow.models.pool import Pool

    slots = default_slots()
    with settings.NonScopedSession() as session:
        if Pool.get_pool(LLM_POOL, session=session) is not None:
            return False
        Pool.create_or_update_pool(LLM_POOL, slots=slots, description=DESCRIPTION, include_deferred=False,
                                   session=session)  # fmt: skip
        session.commit()
    log.warning("Created the Airflow pool %r with %d slots: it did not exist, and every llm_analyze task waits for it. "
                "Resize it with `%s`.", LLM_POOL, slots, SETUP_COMMAND)  # fmt: skip
    return True
