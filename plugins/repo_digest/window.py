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


def logical_date_of_day(day: dt.date) -> dt.datetime:
    """The logical date of the run for ``day``, however it is started: the day at 00:00 UTC.

    Airflow's CLI and REST API read a bare date (``-l 2026-02-19``) as 2026-02-19T00:00Z, and
    the UI's Calendar and run lists place a run by its logical date in UTC: with this one
    logical date per day every way of starting a run agrees, and each day shows on its own
    date, in any timezone.
    """
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def day_of_logical_date(logical_date: dt.datetime, timezone: str) -> dt.date:
    """The day a run with this logical date digests.

    Exactly midnight UTC (a bare date from the CLI, REST or a backfill, and every scheduled
    run of this package's timetable) is that UTC date, whatever the repo's timezone. Any
    other moment (a time picked in the UI, the Trigger dialog's "now", a run scheduled by an
    older version of this package at the repo's local midnight) is the local date that
    contains it.
    """
    if is_utc_midnight(logical_date):
        return logical_date.astimezone(dt.UTC).date()
    return logical_date.astimezone(ZoneInfo(timezone)).date()


def last_complete_day(now: dt.datetime, timezone: str) -> dt.date:
    """The latest day that has fully ended at ``now``: what a run without a logical date covers."""
    return now.astimezone(ZoneInfo(timezone)).date() - dt.timedelta(days=1)
