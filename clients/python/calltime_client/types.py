"""The endpoint's two request formats and its answers, typed.

Days: `day_of_week` is **0 = Sunday** .. 6 = Saturday (JavaScript's `Date.getDay()`, not
Python's `date.weekday()`, where 0 is Monday); hours are the contact's local time, 0..23.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

# The names `calling_window` and the answers' `day` use, in `day_of_week` order (0 = Sunday).
DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
# Day name -> [first hour, end hour): hours first..end-1 are allowed; days not listed are not.
CallingWindow = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class SlotFeatures:
    """One row of the seed format: a call at this slot, for a contact with this answer rate."""

    day_of_week: int  # 0 = Sunday .. 6 = Saturday
    hour_of_day: int  # 0..23, the contact's local time
    previous_answer_rate: float  # 0..1, the contact's answer rate so far

    @classmethod
    def from_date(cls, local_time: dt.datetime, previous_answer_rate: float) -> SlotFeatures:
        """The row for a call at `local_time` (the contact's local time)."""
        return cls((local_time.weekday() + 1) % 7, local_time.hour, previous_answer_rate)

    def row(self) -> list[float]:
        return [self.day_of_week, self.hour_of_day, self.previous_answer_rate]


@dataclass(frozen=True)
class Call:
    """One past call to a contact."""

    called_at: dt.datetime | str  # an aware datetime, or ISO 8601 with a zone ("...Z")
    answered: bool
    duration_seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        called = self.called_at.isoformat() if isinstance(self.called_at, dt.datetime) \
            else self.called_at
        out: dict[str, Any] = {"called_at": called, "answered": self.answered}
        if self.duration_seconds is not None:
            out["duration_seconds"] = self.duration_seconds
        return out


@dataclass(frozen=True)
class Contact:
    contact_id: str
    history: tuple[Call, ...] | list[Call] = field(default_factory=tuple)
    timezone: str | None = None  # IANA name; the endpoint's default is Asia/Jerusalem

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"contact_id": self.contact_id,
                               "history": [call.to_json() for call in self.history]}
        if self.timezone is not None:
            out["timezone"] = self.timezone
        return out


@dataclass(frozen=True)
class Slot:
    day: str  # one of DAYS
    hour: int  # 0..23, the contact's local time
    answer_probability: float  # of a first call then, from the contact's weekly answer curve


@dataclass(frozen=True)
class Recommendation:
    contact_id: str
    slots: tuple[Slot, ...]  # best first

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Recommendation:
        return cls(value["contact_id"], tuple(Slot(s["day"], s["hour"], s["answer_probability"])
                                              for s in value["slots"]))
