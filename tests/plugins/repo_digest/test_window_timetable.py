from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from repo_digest.listeners import run_note
from repo_digest.timetable import DigestDayTimetable
from repo_digest.window import day_of_logical_date, last_complete_day, logical_date_of_day, window_for_day

UTC = dt.UTC
ZONES = ["UTC", "Asia/Shanghai", "America/Los_Angeles", "Pacific/Kiritimati", "Etc/GMT+12"]


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


@pytest.mark.parametrize("timezone", ZONES)
def test_a_bare_date_means_that_date_in_every_timezone(timezone):
    # `airflow dags trigger -l 2026-02-19`, REST and backfills give UTC midnight whatever the DAG's timezone.
    assert day_of_logical_date(dt.datetime(2026, 2, 19, tzinfo=UTC), timezone) == dt.date(2026, 2, 19)
    assert logical_date_of_day(dt.date(2026, 2, 19)) == dt.datetime(2026, 2, 19, tzinfo=UTC)


def test_a_time_picked_in_the_dags_timezone_means_its_local_date():
    la = pendulum.timezone("America/Los_Angeles")
    picked = pendulum.datetime(2026, 2, 19, 0, 0, tz=la)  # 08:00 UTC
    assert day_of_logical_date(picked, "America/Los_Angeles") == dt.date(2026, 2, 19)
    evening = pendulum.datetime(2026, 2, 19, 22, 30, tz=la)  # the next day in UTC
    assert day_of_logical_date(evening, "America/Los_Angeles") == dt.date(2026, 2, 19)
    # Runs an older version scheduled at the repo's local midnight keep their day.
    assert day_of_logical_date(window_for_day(dt.date(2026, 2, 19), "Asia/Shanghai").start, "Asia/Shanghai") == (
        dt.date(2026, 2, 19)
    )


def test_last_complete_day_is_yesterday_locally():
    now = dt.datetime(2026, 2, 19, 17, 0, tzinfo=UTC)  # 01:00 on the 20th in Shanghai
    assert last_complete_day(now, "Asia/Shanghai") == dt.date(2026, 2, 19)
    assert last_complete_day(now, "UTC") == dt.date(2026, 2, 18)


@pytest.mark.parametrize("timezone", ZONES)
def test_a_days_run_is_dated_by_the_day_and_its_interval_ends_when_the_day_does(timezone):
    day = dt.date(2026, 2, 19)
    timetable = DigestDayTimetable(timezone)
    interval = timetable.infer_manual_data_interval(run_after=pendulum.datetime(2026, 2, 19, tz="UTC"))
    assert interval.start == logical_date_of_day(day)
    assert interval.end == window_for_day(day, timezone).end > interval.start


def test_runs_are_one_per_local_day_dated_by_the_day():
    from airflow.timetables.base import DataInterval, TimeRestriction

    timetable = DigestDayTimetable("Asia/Shanghai")
    restriction = TimeRestriction(earliest=pendulum.datetime(2026, 1, 2, tz="UTC"), latest=None, catchup=True)
    first = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert first.logical_date == dt.datetime(2026, 1, 2, tzinfo=UTC)
    assert first.data_interval.end == window_for_day(dt.date(2026, 1, 2), "Asia/Shanghai").end
    # A start that is not a bare date starts with the next day.
    later = TimeRestriction(earliest=pendulum.datetime(2026, 1, 2, 0, 0, 1, tz="UTC"), latest=None, catchup=True)
    assert timetable.next_dagrun_info(last_automated_data_interval=None, restriction=later).logical_date == (
        dt.datetime(2026, 1, 3, tzinfo=UTC)
    )
    following = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(first.data_interval.start, first.data_interval.end),
        restriction=restriction,
    )
    assert following.logical_date == dt.datetime(2026, 1, 3, tzinfo=UTC)
    # After a run an older version scheduled at local midnight, the next day follows.
    old = window_for_day(dt.date(2026, 1, 5), "Asia/Shanghai")
    after_old = timetable.next_dagrun_info(last_automated_data_interval=DataInterval(old.start, old.end),
                                           restriction=restriction)  # fmt: skip
    assert after_old.logical_date == dt.datetime(2026, 1, 6, tzinfo=UTC)


@pytest.mark.parametrize("timezone", ZONES)
def test_without_catchup_a_new_dag_runs_for_the_last_day_that_has_ended(timezone):
    from airflow.timetables.base import TimeRestriction

    timetable = DigestDayTimetable(timezone)
    restriction = TimeRestriction(earliest=pendulum.datetime(2008, 1, 1, tz="UTC"), latest=None, catchup=False)
    info = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    now = dt.datetime.now(UTC)
    day = last_complete_day(now, timezone)
    assert info.logical_date == logical_date_of_day(day)
    # The scheduled run of a day starts when the day has ended: for this one, at once.
    assert info.run_after == window_for_day(day, timezone).end <= now
    following = timetable.next_dagrun_info(last_automated_data_interval=info.data_interval, restriction=restriction)
    assert following.run_after == window_for_day(day + dt.timedelta(days=1), timezone).end > now


def test_timetable_round_trips_through_serialization():
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable

    timetable = DigestDayTimetable("Europe/Berlin")
    restored = decode_timetable(encode_timetable(timetable))
    assert isinstance(restored, DigestDayTimetable) and restored.timezone_name == "Europe/Berlin"
    assert restored.summary == "daily, 00:00-24:00 Europe/Berlin"


@pytest.mark.parametrize("timezone", ZONES)
def test_a_backfill_of_bare_dates_covers_exactly_those_days(timezone):
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
        days.append(day_of_logical_date(info.logical_date, timezone))
        assert info.data_interval.end == window_for_day(days[-1], timezone).end
        # Listed (and named by Airflow) by run_after: the day itself, in every timezone.
        assert info.run_after == info.logical_date
    assert days == [dt.date(2026, 2, 18), dt.date(2026, 2, 19), dt.date(2026, 2, 20)]


def test_run_ids_name_the_day_and_the_timezone_unless_the_day_is_in_doubt():
    from airflow.utils.types import DagRunType

    timetable = DigestDayTimetable("Asia/Shanghai")
    interval = timetable.day_interval(dt.date(2026, 2, 19))
    assert timetable.generate_run_id(run_type=DagRunType.SCHEDULED, run_after=interval.end, data_interval=interval) == (
        "scheduled__2026-02-19_Asia-Shanghai"
    )
    # The UI and REST hand over the interval of the logical date asked for.
    trigger = pendulum.datetime(2026, 12, 7, 22, 54, 1, tz="UTC")
    assert timetable.generate_run_id(run_type=DagRunType.MANUAL, run_after=trigger, data_interval=interval) == (
        "manual__2026-02-19_Asia-Shanghai__2026-12-07T22:54:01+00:00"
    )
    # `airflow dags trigger -l D` hands over the trigger time's interval, whatever D is: no day named.
    cli_interval = timetable.infer_manual_data_interval(run_after=trigger)
    assert timetable.generate_run_id(run_type=DagRunType.MANUAL, run_after=trigger, data_interval=cli_interval) == (
        "manual__2026-12-07T22:54:01+00:00"
    )


def test_the_note_names_the_day_its_window_and_whether_it_has_ended():
    after = dt.datetime(2026, 12, 7, 22, 54, tzinfo=UTC)
    note = run_note(dt.datetime(2026, 2, 19, tzinfo=UTC), after, "Asia/Shanghai", after)
    assert note == ("Digest of 2026-02-19 (Asia/Shanghai): commits from 2026-02-18 16:00 to 2026-02-19 16:00 UTC.")
    # The Trigger dialog's default, "now": 06:54 on the 8th in Shanghai, a day not over.
    partial = run_note(after, after, "Asia/Shanghai", after)
    assert partial.startswith("Digest of 2026-12-08 (Asia/Shanghai): commits from 2026-12-07 16:00 to 2026-12-08 16:00 UTC.")
    assert "2026-12-08 has not ended in Asia/Shanghai yet: this run writes a partial digest" in partial
    assert run_note(None, after, "UTC", after).startswith("Digest of the last complete day, 2026-12-06 (UTC)")
