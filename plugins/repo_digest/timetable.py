"""A daily timetable whose runs each cover one whole local day, however they are started.

Airflow 3's ``@daily`` is a CronTriggerTimetable with a zero-length data interval, and a
plain CronDataIntervalTimetable gives a manual run for D the day *before* D. This one
gives [D 00:00, D+1 00:00) in the repo's timezone to scheduled runs, backfills and manual
runs alike. Registered by the plugin in plugins/repo_digest_plugin.py, as Airflow
requires for custom timetables.
"""

from __future__ import annotations

from typing import Any

from pendulum import DateTime, instance

from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction
from airflow.timetables.interval import CronDataIntervalTimetable
from repo_digest.window import is_utc_midnight, manual_run_day, window_for_day


class DigestDayTimetable(CronDataIntervalTimetable):
    """Midnight to midnight in ``timezone``; the run for a day starts once that day has ended."""

    def __init__(self, timezone: str = "UTC") -> None:
        super().__init__("0 0 * * *", timezone)
        self.timezone_name = timezone
        self.description = f"One run per calendar day in {timezone}, started after the day ends"

    @property
    def summary(self) -> str:
        return f"daily, 00:00-24:00 {self.timezone_name}"

    def infer_manual_data_interval(self, *, run_after: DateTime) -> DataInterval:
        window = window_for_day(manual_run_day(run_after, self.timezone_name), self.timezone_name)
        return DataInterval(start=instance(window.start), end=instance(window.end))

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction
    ) -> DagRunInfo | None:
        """Scheduled and backfill runs; bare dates in the restriction mean local days.

        ``airflow backfill create --from-date 2026-02-18 --to-date 2026-02-20`` passes UTC
        midnights: in Asia/Shanghai that would start at the 19th, in America/Los_Angeles end
        at the 19th. Read as the local days they name, the backfill covers the 18th to the 20th.
        """
        local = TimeRestriction(
            earliest=self._local_midnight(restriction.earliest),
            latest=self._local_midnight(restriction.latest),
            catchup=restriction.catchup,
        )
        return super().next_dagrun_info(last_automated_data_interval=last_automated_data_interval, restriction=local)

    def _local_midnight(self, moment: DateTime | None) -> DateTime | None:
        if moment is None or not is_utc_midnight(moment):
            return moment
        return instance(window_for_day(moment.date(), self.timezone_name).start)

    def serialize(self) -> dict[str, Any]:
        return {"timezone": self.timezone_name}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> DigestDayTimetable:
        return cls(data["timezone"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DigestDayTimetable) and other.timezone_name == self.timezone_name

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.timezone_name))
