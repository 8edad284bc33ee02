"""Which day a run covers, and that day's window in UTC.

The run for day D covers commits whose committer date is in [D 00:00, D+1 00:00) in the
repo's timezone. Pure functions of datetimes; the timetable and the tasks both use them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class DayWindow:
    day: dt.date
    timezone: str
    start: dt.datetime  # aware, UTC
    end: dt.datetime  # aware, UTC, exclusive

    def contains(self, moment: dt.datetime) -> bool:
        return self.start <= moment.astimezone(dt.UTC) < self.end


def window_for_day(day: dt.date, timezone: str) -> DayWindow:
    """[day 00:00, next day 00:00) in ``timezone``, in UTC; a DST day is 23 or 25 hours long."""
    tz = ZoneInfo(timezone)
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return DayWindow(day=day, timezone=timezone, start=start.astimezone(dt.UTC), end=end.astimezone(dt.UTC))


def is_utc_midnight(moment: dt.datetime) -> bool:
    """How Airflow's CLI and REST API write a bare date."""
    utc = moment.astimezone(dt.UTC)
    return (utc.hour, utc.minute, utc.second, utc.microsecond) == (0, 0, 0, 0)


def manual_run_day(logical_date: dt.datetime, timezone: str) -> dt.date:
    """The day a manually triggered run means.

    ``airflow dags test DAG 2026-02-19`` and a REST trigger with a bare date arrive as
    2026-02-19T00:00Z whatever the DAG's timezone, which in America/Los_Angeles is still
    the 18th. A logical date at exactly midnight UTC is therefore read as that UTC date;
    any other moment (a time picked in the UI in the DAG's own timezone) as the local
    date containing it.
    """
    if is_utc_midnight(logical_date):
        return logical_date.astimezone(dt.UTC).date()
    return logical_date.astimezone(ZoneInfo(timezone)).date()


def day_of_interval_start(start: dt.datetime, timezone: str) -> dt.date:
    """The day whose window starts at ``start`` (a data interval start from our timetable)."""
    return start.astimezone(ZoneInfo(timezone)).date()


def last_complete_day(now: dt.datetime, timezone: str) -> dt.date:
    """The latest day that has fully ended at ``now``: what a run without a logical date covers."""
    return now.astimezone(ZoneInfo(timezone)).date() - dt.timedelta(days=1)
