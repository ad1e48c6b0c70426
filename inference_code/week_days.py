"""Which day of a time zone's week is which day type, for the weekly archetypes' cells.

People's weeks follow their country's rest days: Sunday is a working day in Israel and a rest
day in the UK. The archetypes' cells are day types, not days of the week, so that one weekly
shape (say, "answers after work, and late mornings on rest days") is one archetype in every zone
instead of one per calendar:

    0  the last rest day (the one before the working week starts)
    1  a working day
    2  the last working day before the rest days (often a short day)
    3  the first rest day

Most zones rest on Saturday and Sunday, which gives Sunday 0, Monday-Thursday 1, Friday 2,
Saturday 3: the cells every model before this table had, for every zone. `REST_DAYS` lists the
zones whose rest days differ, from each country's official working week (as of 2026); a zone
not listed rests on Saturday and Sunday. A model ships the day types it was trained with
(`Archetypes.week`), so a later change to this table never re-reads an older model's curves.

Plain data and integer arithmetic: shipped to the serving container.
"""

from __future__ import annotations

SUNDAY, MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY = range(7)

LAST_REST_DAY, WORKING_DAY, LAST_WORKING_DAY, FIRST_REST_DAY = range(4)
N_DAY_TYPES = 4

DEFAULT_REST_DAYS: tuple[int, ...] = (SATURDAY, SUNDAY)

_FRIDAY_SATURDAY = (FRIDAY, SATURDAY)
REST_DAYS: dict[str, tuple[int, ...]] = {
    # Israel: Saturday; Friday is a short working day for most, Sunday a full one.
    "Asia/Jerusalem": (SATURDAY,),
    "Asia/Tel_Aviv": (SATURDAY,),
    "Israel": (SATURDAY,),
    # Friday and Saturday.
    "Asia/Riyadh": _FRIDAY_SATURDAY,  # Saudi Arabia
    "Asia/Kuwait": _FRIDAY_SATURDAY,
    "Asia/Qatar": _FRIDAY_SATURDAY,
    "Asia/Bahrain": _FRIDAY_SATURDAY,
    "Asia/Muscat": _FRIDAY_SATURDAY,  # Oman
    "Asia/Baghdad": _FRIDAY_SATURDAY,  # Iraq
    "Asia/Amman": _FRIDAY_SATURDAY,  # Jordan
    "Asia/Aden": _FRIDAY_SATURDAY,  # Yemen
    "Asia/Damascus": _FRIDAY_SATURDAY,  # Syria
    "Asia/Dhaka": _FRIDAY_SATURDAY,  # Bangladesh
    "Asia/Dacca": _FRIDAY_SATURDAY,
    "Indian/Maldives": _FRIDAY_SATURDAY,
    "Africa/Cairo": _FRIDAY_SATURDAY,  # Egypt
    "Egypt": _FRIDAY_SATURDAY,
    "Africa/Algiers": _FRIDAY_SATURDAY,  # Algeria
    "Africa/Tripoli": _FRIDAY_SATURDAY,  # Libya
    "Libya": _FRIDAY_SATURDAY,
    # Friday only (Iran: a Thursday rest day was voted in 2025 and not in force when written).
    "Asia/Tehran": (FRIDAY,),
    "Iran": (FRIDAY,),
    # Friday and Sunday, not adjacent: two first rest days, two last working days.
    "Asia/Brunei": (FRIDAY, SUNDAY),
}


def day_types(rest_days: tuple[int, ...]) -> tuple[int, ...]:
    """The 7 day types (Sunday first) of a week with these rest days (0 = Sunday).

    >>> day_types((SATURDAY, SUNDAY))
    (0, 1, 1, 1, 1, 2, 3)
    >>> day_types((SATURDAY,))
    (1, 1, 1, 1, 1, 2, 3)

    A rest day after a working day is a first rest day, a working day before a rest day a last
    working day: two rest days apart (Brunei's Friday and Sunday) give two of each.
    """
    rest = set(rest_days)
    if not rest or len(rest) > 2 or not rest <= set(range(7)):
        raise ValueError(f"rest days must be one or two days of the week (0 = Sunday), got "
                         f"{rest_days!r}")
    out = []
    for day in range(7):
        before, after = (day - 1) % 7, (day + 1) % 7
        if day in rest:
            out.append(FIRST_REST_DAY if before not in rest else LAST_REST_DAY)
        else:
            out.append(LAST_WORKING_DAY if after in rest else WORKING_DAY)
    return tuple(out)


DEFAULT_WEEK: tuple[int, ...] = day_types(DEFAULT_REST_DAYS)
# zone -> its 7 day types, for the zones whose week is not the default one
WEEK: dict[str, tuple[int, ...]] = {zone: day_types(rest) for zone, rest in REST_DAYS.items()}
