"""When an EventBridge Scheduler expression fires next: `cron(minutes hours day-of-month month
day-of-week year)` in the schedule's time zone, `rate(...)`, `at(...)`. The Scheduler API does
not say; `calltime status` shows it.

Cron fields as the Scheduler guide defines them (and its daylight-saving rule: a time the clocks
skip is not run, a time they repeat is run once): day-of-week 1-7 is SUN-SAT, one of
day-of-month and day-of-week is `?`; `*`, lists, ranges, `/` increments and names (JAN, SUN)
are read. `L`, `W` and `#` are not (None: the status says to look in the console).
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

_MONTHS = {name: i + 1 for i, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])}
_DAYS = {name: i + 1 for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}


class Unsupported(ValueError):
    """An expression this reader does not evaluate."""


def _values(field: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    if field in ("*", "?"):
        return set(range(low, high + 1))
    found: set[int] = set()
    for part in field.split(","):
        for name, number in (names or {}).items():
            part = re.sub(rf"\b{name}\b", str(number), part, flags=re.IGNORECASE)
        if re.search(r"[LW#]", part):
            raise Unsupported(f"{part!r} (L, W and # are not evaluated here)")
        base, _, step = part.partition("/")
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _number(first, names), _number(last, names)
        else:
            start = _number(base, names)
            end = high if step else start
        found.update(range(start, end + 1, int(step) if step else 1))
    return found


def _number(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    return int(text)


def next_run(expression: str, time_zone: str | None, now: dt.datetime) -> dt.datetime | None:
    """The next time (aware, in the schedule's zone) the expression fires after `now`; None
    for a rate (it counts from when the schedule was created) or an `at` in the past."""
    zone = ZoneInfo(time_zone or "UTC")
    kind, _, body = expression.partition("(")
    body = body.rstrip(")")
    if kind == "rate":
        return None
    if kind == "at":
        when = dt.datetime.fromisoformat(body).replace(tzinfo=zone)
        return when if when > now else None
    if kind != "cron":
        raise Unsupported(f"{expression!r} is not a cron, rate or at expression")
    fields = body.split()
    if len(fields) != 6:
        raise Unsupported(f"{expression!r}: a cron expression has six fields")
    minutes, hours = _values(fields[0], 0, 59), _values(fields[1], 0, 23)
    days, months = _values(fields[2], 1, 31), _values(fields[3], 1, 12, _MONTHS)
    weekdays, years = _values(fields[4], 1, 7, _DAYS), _values(fields[5], 1970, 2199)
    instant = now.astimezone(dt.UTC)
    day = now.astimezone(zone).date()
    for _ in range(366 * 5):
        if day.year in years and day.month in months and day.day in days and \
                (day.isoweekday() % 7) + 1 in weekdays:
            for hour in sorted(hours):
                for minute in sorted(minutes):
                    when = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                    utc = when.astimezone(dt.UTC)
                    # A time the clocks skip (spring forward) does not run; a time they repeat
                    # (fall back) runs once, at its first occurrence (fold 0). Compared as
                    # instants: wall times of one zone are not ordered across a repeat.
                    if utc.astimezone(zone).replace(tzinfo=None) != when.replace(tzinfo=None):
                        continue
                    if utc > instant:
                        return when
        day += dt.timedelta(days=1)
    return None
