from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from repo_digest.timetable import DigestDayTimetable
from repo_digest.window import last_complete_day, manual_run_day, window_for_day

UTC = dt.UTC


def test_window_is_local_midnight_to_midnight_in_utc():
    window = window_for_day(dt.date(2026, 2, 19), "Asia/Shanghai")
    assert window.start == dt.datetime(2026, 2, 18, 16, tzinfo=UTC)
    assert window.end == dt.datetime(2026, 2, 19, 16, tzinfo=UTC)
    shanghai = dt.timezone(dt.timedelta(hours=8))
    assert window.contains(dt.datetime(2026, 2, 19, 23, 59, 59, tzinfo=shanghai))
    assert not window.contains(dt.datetime(2026, 2, 20, 0, 0, 0, tzinfo=shanghai))
    assert window.contains(dt.datetime(2026, 2, 19, 0, 0, 0, tzinfo=shanghai))


def test_dst_days_are_23_and_25_hours_long():
    spring = window_for_day(dt.date(2026, 3, 8), "America/New_York")
    autumn = window_for_day(dt.date(2026, 11, 1), "America/New_York")
    assert spring.end - spring.start == dt.timedelta(hours=23)
    assert autumn.end - autumn.start == dt.timedelta(hours=25)


@pytest.mark.parametrize("timezone", ["UTC", "Asia/Shanghai", "America/Los_Angeles", "Pacific/Kiritimati"])
def test_a_bare_date_means_that_date_in_every_timezone(timezone):
    # `airflow dags test DAG 2026-02-19` arrives as UTC midnight whatever the DAG's timezone.
    assert manual_run_day(dt.datetime(2026, 2, 19, tzinfo=UTC), timezone) == dt.date(2026, 2, 19)


def test_a_time_picked_in_the_dags_timezone_means_its_local_date():
    la = pendulum.timezone("America/Los_Angeles")
    picked = pendulum.datetime(2026, 2, 19, 0, 0, tz=la)  # 08:00 UTC
    assert manual_run_day(picked, "America/Los_Angeles") == dt.date(2026, 2, 19)
    evening = pendulum.datetime(2026, 2, 19, 22, 30, tz=la)  # the next day in UTC
    assert manual_run_day(evening, "America/Los_Angeles") == dt.date(2026, 2, 19)


def test_last_complete_day_is_yesterday_locally():
    now = dt.datetime(2026, 2, 19, 17, 0, tzinfo=UTC)  # 01:00 on the 20th in Shanghai
    assert last_complete_day(now, "Asia/Shanghai") == dt.date(2026, 2, 19)
    assert last_complete_day(now, "UTC") == dt.date(2026, 2, 18)


@pytest.mark.parametrize("timezone", ["UTC", "Asia/Shanghai", "America/Los_Angeles"])
def test_manual_runs_cover_the_whole_local_day_named(timezone):
    interval = DigestDayTimetable(timezone).infer_manual_data_interval(
        run_after=pendulum.datetime(2026, 2, 19, tz="UTC")
    )
    window = window_for_day(dt.date(2026, 2, 19), timezone)
    assert (interval.start, interval.end) == (window.start, window.end)


def test_scheduled_runs_cover_whole_local_days_and_start_after_the_day_ends():
    from airflow.timetables.base import DataInterval, TimeRestriction

    timetable = DigestDayTimetable("Asia/Shanghai")
    # The DAG's start date is a bare date (UTC midnight): it means that local day.
    restriction = TimeRestriction(earliest=pendulum.datetime(2026, 1, 2, tz="UTC"), latest=None, catchup=True)
    first = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert first is not None
    day_one = window_for_day(dt.date(2026, 1, 2), "Asia/Shanghai")
    # Any other moment is taken as it is: 08:00 on the 2nd in Shanghai starts with the 3rd.
    later = TimeRestriction(earliest=pendulum.datetime(2026, 1, 2, 0, 0, 1, tz="UTC"), latest=None, catchup=True)
    assert timetable.next_dagrun_info(last_automated_data_interval=None, restriction=later).data_interval.start == (
        window_for_day(dt.date(2026, 1, 3), "Asia/Shanghai").start
    )
    assert (first.data_interval.start, first.data_interval.end) == (day_one.start, day_one.end)
    assert first.run_after == day_one.end
    following = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(first.data_interval.start, first.data_interval.end),
        restriction=restriction,
    )
    day_two = window_for_day(dt.date(2026, 1, 3), "Asia/Shanghai")
    assert (following.data_interval.start, following.data_interval.end) == (day_two.start, day_two.end)


def test_timetable_round_trips_through_serialization():
    from airflow.serialization.encoders import encode_timetable
    from airflow.serialization.decoders import decode_timetable

    timetable = DigestDayTimetable("Europe/Berlin")
    restored = decode_timetable(encode_timetable(timetable))
    assert isinstance(restored, DigestDayTimetable) and restored.timezone_name == "Europe/Berlin"
    assert restored.summary == "daily, 00:00-24:00 Europe/Berlin"


@pytest.mark.parametrize("timezone", ["UTC", "Asia/Shanghai", "America/Los_Angeles"])
def test_a_backfill_of_bare_dates_covers_exactly_those_local_days(timezone):
    """`airflow backfill create --from-date 2026-02-18 --to-date 2026-02-20` passes UTC midnights."""
    from airflow.timetables.base import TimeRestriction

    timetable = DigestDayTimetable(timezone)
    restriction = TimeRestriction(
        earliest=pendulum.datetime(2026, 2, 18, tz="UTC"), latest=pendulum.datetime(2026, 2, 20, tz="UTC"), catchup=True
    )
    days, info = [], None
    while (info := timetable.next_dagrun_info(
        last_automated_data_interval=info.data_interval if info else None, restriction=restriction
    )) is not None:  # fmt: skip
        window = window_for_day(info.data_interval.start.in_timezone(timezone).date(), timezone)
        assert (info.data_interval.start, info.data_interval.end) == (window.start, window.end)
        days.append(window.day)
    assert days == [dt.date(2026, 2, 18), dt.date(2026, 2, 19), dt.date(2026, 2, 20)]
