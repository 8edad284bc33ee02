"""What the scheduler does for the runs of repo_digest's DAGs: an Airflow listener, registered by the plugin.

When a run of a repo DAG starts (the scheduler, or ``airflow dags test`` as it ends):

- the pool ``llm_api`` exists: created with its default size when missing (pool.py), so a
  deployment that only copied the files never waits silently at ``llm_analyze``;
- the run's note says which day it digests, in which timezone, over which commit window,
  and whether that day is still going on (unless someone already wrote a note);
- a run from ``airflow dags trigger -l D`` gets D's data interval: Airflow's CLI computes it
  from the trigger time (its REST API and UI from D);
- a run of ``airflow dags test`` for a past day gets the start of its first task as its start
  date: Airflow gives it the logical date, which shows as a duration of months in the UI.

A repo DAG is one whose timetable is DigestDayTimetable. Airflow calls these hooks in the
scheduler's own transaction and logs any exception without stopping; each hook only sets
fields of the run it is given (the pool has sessions of its own).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from airflow.listeners import hookimpl

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from airflow.models.dagrun import DagRun

log = logging.getLogger(__name__)


def _timezone(dag_run: DagRun) -> str | None:
    """The repo's timezone when ``dag_run`` is a run of a repo DAG, else None."""
    from repo_digest.timetable import DigestDayTimetable

    timetable = getattr(getattr(dag_run, "dag", None), "timetable", None)
    return timetable.timezone_name if isinstance(timetable, DigestDayTimetable) else None


def run_note(logical_date: dt.datetime | None, run_after: dt.datetime, timezone: str, now: dt.datetime) -> str:
    """The run's note: the day it digests, its commit window in UTC, and whether the day has ended."""
    from repo_digest.window import day_of_logical_date, last_complete_day, window_for_day

    if logical_date is None:
        day = last_complete_day(run_after, timezone)
        what = f"Digest of the last complete day, {day} ({timezone})"
    else:
        day = day_of_logical_date(logical_date, timezone)
        what = f"Digest of {day} ({timezone})"
    window = window_for_day(day, timezone)
    note = f"{what}: commits from {window.start:%Y-%m-%d %H:%M} to {window.end:%Y-%m-%d %H:%M} UTC."
    if now < window.end:
        note += (f" {day} has not ended in {timezone} yet: this run writes a partial digest, "
                 "which the run after the day ends replaces.")  # fmt: skip
    return note


def _attached(dag_run: DagRun) -> tuple[DagRun, Session]:
    """The run as an instance of the session it is being saved in, with that session.

    The scheduler hands over an attached run. ``airflow dags test`` hands over a detached one
    (its tasks' sessions closed the thread's session under it) and merges it into the thread's
    session after the hook: relationships, such as the note, are set on the copy in that session.
    """
    from sqlalchemy.orm import object_session

    from airflow import settings
    from airflow.models.dagrun import DagRun as DagRunModel

    session = object_session(dag_run)
    if session is not None:
        return dag_run, session
    session = settings.Session()
    return session.get(DagRunModel, dag_run.id), session


def _describe(dag_run: DagRun, timezone: str) -> None:
    from pendulum import instance

    from repo_digest.timetable import DigestDayTimetable
    from repo_digest.window import day_of_logical_date

    if dag_run.logical_date is not None:
        interval = DigestDayTimetable(timezone).day_interval(day_of_logical_date(dag_run.logical_date, timezone))
        if (dag_run.data_interval_start, dag_run.data_interval_end) != (interval.start, interval.end):
            dag_run.data_interval_start, dag_run.data_interval_end = instance(interval.start), instance(interval.end)
    attached, _ = _attached(dag_run)
    if not attached.note:
        attached.note = run_note(dag_run.logical_date, dag_run.run_after, timezone, dt.datetime.now(dt.UTC))


@hookimpl
def on_dag_run_running(dag_run: DagRun, msg: str) -> None:
    timezone = _timezone(dag_run)
    if timezone is None:
        return
    from repo_digest.pool import ensure_llm_pool

    ensure_llm_pool()
    _describe(dag_run, timezone)


def _after_dags_test(dag_run: DagRun) -> None:
    """``airflow dags test`` never passes through on_dag_run_running: describe its run as it ends."""
    from sqlalchemy import func, select

    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.types import DagRunTriggeredByType

    timezone = _timezone(dag_run)
    if timezone is None or dag_run.triggered_by != DagRunTriggeredByType.TEST:
        return
    _describe(dag_run, timezone)
    if dag_run.start_date is not None and dag_run.start_date == dag_run.logical_date:
        _, session = _attached(dag_run)
        first_task = session.scalar(select(func.min(TaskInstance.start_date)).where(
            TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id))  # fmt: skip
        if first_task is not None:
            dag_run.start_date = first_task


@hookimpl
def on_dag_run_success(dag_run: DagRun, msg: str) -> None:
    _after_dags_test(dag_run)


@hookimpl
def on_dag_run_failed(dag_run: DagRun, msg: str) -> None:
    _after_dags_test(dag_run)

