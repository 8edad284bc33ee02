"""The state of a DAG in Airflow's metadata DB, for the viewer's line about the combined report.

The viewer runs inside the api-server, which has the metadata DB: the row of
``repo_digest__all`` in the ``dag`` table says whether combined reports are being built.
:func:`read_dag_state` is the one place that reads it (Airflow's own ORM, imported when
called) and it never raises: if the DB cannot be read the page just says nothing about it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger(__name__)

State = Literal["absent", "stale", "paused", "import_errors", "active"]


@dataclass(frozen=True)
class DagState:
    """``absent``: no such DAG (never parsed); ``stale``: no longer in any DAG file;
    ``paused``; ``import_errors``: its file failed to import on the last parse; ``active``."""

    dag_id: str
    state: State


def state_of(dag_id: str, row: tuple[bool, bool, bool | None] | None) -> DagState:
    """The state a ``dag`` row ``(is_paused, is_stale, has_import_errors)`` (None: no row) stands for."""
    if row is None:
        return DagState(dag_id, "absent")
    is_paused, is_stale, has_import_errors = row
    if is_stale:
        return DagState(dag_id, "stale")
    if is_paused:
        return DagState(dag_id, "paused")
    if has_import_errors:
        return DagState(dag_id, "import_errors")
    return DagState(dag_id, "active")


def read_dag_state(dag_id: str) -> DagState | None:
    """``dag_id``'s state in the metadata DB; None when it cannot be read (logged, never raised)."""
    try:
        from sqlalchemy import select

        from airflow.models.dag import DagModel
        from airflow.utils.session import create_session

        query = select(DagModel.is_paused, DagModel.is_stale, DagModel.has_import_errors).where(
            DagModel.dag_id == dag_id
        )
        with create_session() as session:
            row = session.execute(query).one_or_none()
        return state_of(dag_id, None if row is None else (bool(row[0]), bool(row[1]), row[2]))
    except Exception as error:  # the line is a hint; the page must not depend on it
        log.warning("Could not read the state of DAG %s: %s: %s", dag_id, type(error).__name__, error)
        return None
