"""The demo generator's settings (`training.simulate`): zones and their calendars, behaviour
groups, and the three populations of different shape the model is evaluated on. Plain data (no
numpy or pandas), so the CLI can offer the choices without importing the generator."""

from __future__ import annotations

import dataclasses

# Day types of a zone's week, Sunday first: 0 workday, 1 short day before the weekend, 2 weekend.
WORK, SHORT, WEEKEND = 0, 1, 2
CALENDARS: dict[str, tuple[int, ...]] = {
    "Asia/Jerusalem": (WORK, WORK, WORK, WORK, WORK, SHORT, WEEKEND),  # Fri short, Sat off
    "Asia/Riyadh": (WORK, WORK, WORK, WORK, WORK, WEEKEND, WEEKEND),  # Fri-Sat weekend
    "Asia/Dubai": (WEEKEND, WORK, WORK, WORK, WORK, SHORT, WEEKEND),  # Sat-Sun, Fri short
    "Europe/London": (WEEKEND, WORK, WORK, WORK, WORK, SHORT, WEEKEND),
    "Europe/Moscow": (WEEKEND, WORK, WORK, WORK, WORK, WORK, WEEKEND),
    "America/New_York": (WEEKEND, WORK, WORK, WORK, WORK, SHORT, WEEKEND),
    "America/Los_Angeles": (WEEKEND, WORK, WORK, WORK, WORK, WORK, WEEKEND),
}

# Behaviour groups: the peak hour range on workdays, and how far it moves on weekends (hours).
GROUPS: dict[str, tuple[tuple[float, float], float]] = {
    "morning": ((7.0, 10.0), 2.5),  # before work; later on the weekend
    "lunch": ((12.0, 14.0), 0.0),
    "evening": ((17.5, 20.5), -4.0),  # after work; afternoons on the weekend
    "night_owl": ((21.0, 23.5), 1.0),
    "weekend": ((10.0, 17.0), 0.0),  # answers on weekends, hardly on workdays
    "shift": ((9.0, 18.0), 0.0),  # works shifts: answers on some days, whatever their type
    "flat": ((12.0, 12.0), 0.0),  # no time preference
}


@dataclasses.dataclass(frozen=True)
class Population:
    zones: dict[str, float]  # zone -> share of contacts
    groups: dict[str, float]  # behaviour group -> share of contacts
    history_spread: float  # lognormal sigma of a contact's call count (0: every contact alike)
    weekend_shift: float  # multiplies each group's weekend move
    # A contact's whole curve shifted by a personal number of hours (normal, this sigma): the
    # narrow peaks of one group blur at population level. 0: none (no random draw at all, so
    # the populations without it generate exactly what they did before it existed).
    hour_shift: float = 0.0
    # The share of the dialer's attempts outside its business hours; None: the simulation's
    # setting (a legacy dialer hardly ever calls outside them, so evidence there is thin).
    explore_probability: float | None = None


POPULATIONS: dict[str, Population] = {
    "office": Population(
        zones={"Asia/Jerusalem": 0.6, "Europe/London": 0.12, "America/New_York": 0.12,
               "Europe/Moscow": 0.08, "Asia/Dubai": 0.08},
        groups={"morning": 0.2, "lunch": 0.1, "evening": 0.25, "night_owl": 0.1,
                "weekend": 0.12, "shift": 0.1, "flat": 0.13},
        history_spread=0.9, weekend_shift=1.0),
    "retail": Population(
        zones={"Asia/Jerusalem": 0.35, "Asia/Riyadh": 0.2, "Europe/London": 0.15,
               "America/Los_Angeles": 0.15, "Asia/Dubai": 0.15},
        groups={"morning": 0.1, "lunch": 0.2, "evening": 0.35, "night_owl": 0.05,
                "weekend": 0.2, "shift": 0.05, "flat": 0.05},
        history_spread=1.2, weekend_shift=1.5),
    # Most people answer in the evening; two minorities of about 15 % each answer, inside the
    # calling window, where the majority does not (mornings; lunch time), each contact's curve
    # shifted by its own hour or so, called by a legacy dialer that keeps to its office hours.
    "minorities": Population(
        zones={"Asia/Jerusalem": 0.7, "Europe/London": 0.1, "Asia/Dubai": 0.1,
               "America/New_York": 0.1},
        groups={"evening": 0.5, "morning": 0.15, "lunch": 0.15, "night_owl": 0.1,
                "weekend": 0.05, "flat": 0.05},
        history_spread=1.0, weekend_shift=1.0, hour_shift=1.0, explore_probability=0.03),
}
