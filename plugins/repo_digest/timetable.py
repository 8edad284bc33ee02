"""A daily timetable: one run per calendar day of the repo's timezone, dated by that day.

The run for day D has the logical date D 00:00 UTC (window.logical_date_of_day): the date
Airflow's CLI and REST API give a bare ``D``, and the one the UI's Calendar and run lists
show, so D has one logical date whether its run was scheduled, backfilled or triggered, and
shows on its own date in any timezone. Its data interval runs from there to the end of D
in the repo's timezone, when D's commits are complete: the scheduled run starts then, and
``airflow backfill create`` takes only days whose interval has ended. The commits a run
reads are those of [D 00:00, D+1 00:00) in the repo's timezone (window.window_for_day);
each run's note says so (repo_digest.listeners).

Registered by the plugin in plugins/repo_digest_plugin.py, as Airflow requires for custom
timetables.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pendulum import DateTime, instance

from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable
from airflow.utils.types import DagRunType
from repo_digest.window import (
    day_of_logical_date,
    is_utc_midnight,
    last_complete_day,
    logical_date_of_day,
    window_for_day,
)


class DigestDayTimetable(Timetable):
    """Midnight to midnight in ``timezone``; the run for a day starts once that day has ended."""

    def __init__(self, timezone: str = "UTC") -> None:
        self.timezone_name = timezone
        self.description = f"One run per calendar day in {timezone}, started after the day ends"

    @property
    def summary(self) -> str:
        return f"daily, 00:00-24:00 {self.timezone_name}"

    def day_interval(self, day: dt.date) -> DataInterval:
        """From the day's logical date (00:00 UTC) to the end of the day in the repo's timezone."""
        end = window_for_day(day, self.timezone_name).end
        return DataInterval(start=instance(logical_date_of_day(day)), end=instance(end))

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        # Called with the run's logical date by the UI, REST and `dags test`; with the
        # trigger time by `airflow dags trigger -l` (the run's day comes from its logical
        # date anyway, and the listener puts this interval right).
        return self.day_interval(day_of_logical_date(run_after, self.timezone_name))

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        """Scheduled and backfill runs: the day after the last one, or the first day allowed.

        ``restriction`` bounds logical dates: a start date or a backfill's ``--from-date
        2026-02-18 --to-date 2026-02-20`` (UTC midnights) take exactly those three days.
        Without catch-up, never a day before the last one that has ended.
        """
        if last_automated_data_interval is not None:
            day = day_of_logical_date(last_automated_data_interval.start, self.timezone_name) + dt.timedelta(days=1)
        elif restriction.earliest is not None:
            earliest = restriction.earliest.astimezone(dt.UTC)
            day = earliest.date() if is_utc_midnight(earliest) else earliest.date() + dt.timedelta(days=1)
        else:
            return None
        if not restriction.catchup:
            day = max(day, last_complete_day(dt.datetime.now(dt.UTC), self.timezone_name))
        if restriction.latest is not None and logical_date_of_day(day) > restriction.latest:
            return None
        interval = self.day_interval(day)
        if restriction.catchup:
            # A backfill (the repo DAGs never catch up on their own): its days are over, and its
            # runs are listed by run_after and named `backfill__<run_after>` by Airflow: the
            # day itself, rather than its end, which is the next date west of UTC.
            return DagRunInfo(run_after=interval.start, data_interval=interval)
        return DagRunInfo(run_after=interval.end, data_interval=interval)

    def generate_run_id(self, *, run_type: DagRunType, run_after: DateTime, data_interval: DataInterval | None,
                        **extra: Any) -> str:  # fmt: skip
        """Run IDs that name the day and the timezone: the run lists show run IDs, not logical dates.

        ``scheduled__2026-02-19_Asia-Shanghai``; a manual run of a past day
        ``manual__2026-02-19_Asia-Shanghai__<trigger time>``. A manual run whose interval is the
        day of its trigger time keeps Airflow's ``manual__<trigger time>``: that is what
        ``airflow dags trigger -l D`` hands over whatever D is, so a day named then could be
        the wrong one (its note names the right one). Backfill run IDs are Airflow's own,
        ``backfill__<run_after>``: the day, see next_dagrun_info.
        """
        zone = self.timezone_name.replace("/", "-")
        day = day_of_logical_date(data_interval.start, self.timezone_name) if data_interval is not None else None
        if run_type == DagRunType.SCHEDULED and day is not None:
            return run_type.generate_run_id(suffix=f"{day.isoformat()}_{zone}")
        if run_type == DagRunType.MANUAL and day is not None and day != day_of_logical_date(run_after, self.timezone_name):
            return run_type.generate_run_id(suffix=f"{day.isoformat()}_{zone}__{run_after.isoformat(timespec='seconds')}")
        return super().generate_run_id(run_type=run_type, run_after=run_after, data_interval=data_interval, **extra)

    def serialize(self) -> dict[str, Any]:
        return {"timezone": self.timezone_name}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> DigestDayTimetable:
        return cls(data["timezone"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DigestDayTimetable) and other.timezone_name == self.timezone_name

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.timezone_name))
