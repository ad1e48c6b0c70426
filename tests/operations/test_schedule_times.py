"""When a schedule fires next (`calltime status`), by the EventBridge Scheduler guide's cron
rules: six fields, day-of-week 1-7 = SUN-SAT, in the schedule's time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from operations.schedule_times import Unsupported, next_run

JERUSALEM = ZoneInfo("Asia/Jerusalem")


def _at(text: str, zone: ZoneInfo = JERUSALEM) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone)


@pytest.mark.parametrize(("now", "expected"), [
    # The weekly retraining, Sunday 03:00 Jerusalem: Wednesday 2026-12-09 -> Sunday 12-13.
    ("2026-12-09T12:00:00", "2026-12-13T03:00:00"),
    # At 03:00 on a Sunday itself: the next week's (not the minute now).
    ("2026-12-13T03:00:00", "2026-12-20T03:00:00"),
    ("2026-12-13T02:59:00", "2026-12-13T03:00:00"),
])
def test_the_weekly_schedule_fires_on_the_next_sunday_at_three(now: str, expected: str) -> None:
    assert next_run("cron(0 3 ? * SUN *)", "Asia/Jerusalem", _at(now)) == _at(expected)


def test_the_time_zone_is_the_schedules_across_a_clock_change() -> None:
    # Israel moves its clocks on Friday 2027-03-26: 03:00 local on Sunday is 00:00 UTC after.
    before = dt.datetime(2027, 3, 22, tzinfo=dt.UTC)
    fired = next_run("cron(0 3 ? * 1 *)", "Asia/Jerusalem", before)
    assert fired.astimezone(dt.UTC) == dt.datetime(2027, 3, 28, 0, 0, tzinfo=dt.UTC)


def test_a_time_the_clocks_skip_does_not_run_and_a_repeated_one_runs_once() -> None:
    new_york = ZoneInfo("America/New_York")
    # 2027-03-14: 02:00 becomes 03:00, so 02:30 does not exist that day.
    spring = next_run("cron(30 2 * * ? *)", "America/New_York",
                      dt.datetime(2027, 3, 14, 5, 0, tzinfo=dt.UTC))  # 00:00 EST
    assert spring == dt.datetime(2027, 3, 15, 2, 30, tzinfo=new_york)
    # 2026-11-01: 01:00-02:00 happens twice. At 01:20 of the second pass (06:20 UTC) the day's
    # 01:30 has run (05:30 UTC, the first pass): the next is the next day's.
    fall = next_run("cron(30 1 * * ? *)", "America/New_York",
                    dt.datetime(2026, 11, 1, 6, 20, tzinfo=dt.UTC))
    assert fall == dt.datetime(2026, 11, 2, 1, 30, tzinfo=new_york)
    # Before the first pass, it is that first 01:30 (05:30 UTC).
    first = next_run("cron(30 1 * * ? *)", "America/New_York",
                     dt.datetime(2026, 11, 1, 5, 0, tzinfo=dt.UTC))
    assert first is not None and first.astimezone(dt.UTC) == dt.datetime(
        2026, 11, 1, 5, 30, tzinfo=dt.UTC)


def test_lists_ranges_increments_and_names() -> None:
    now = _at("2026-12-07T10:20:00", ZoneInfo("UTC"))  # a Monday
    assert next_run("cron(0/15 9-17 ? * MON-FRI *)", "UTC", now) == \
        _at("2026-12-07T10:30:00", ZoneInfo("UTC"))
    assert next_run("cron(0 6 1,15 JAN,JUL ? *)", None, now) == \
        _at("2027-01-01T06:00:00", ZoneInfo("UTC"))


def test_what_cannot_be_told_is_said() -> None:
    now = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
    assert next_run("rate(7 days)", None, now) is None  # counts from the schedule's creation
    assert next_run("at(2026-01-01T00:00:00)", "UTC", now) is None  # past
    with pytest.raises(Unsupported, match="L, W and #"):
        next_run("cron(0 3 L * ? *)", "UTC", now)
