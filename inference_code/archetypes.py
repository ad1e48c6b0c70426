"""A contact's weekly answer curve: the population's archetypes, weighed by the contact's calls.

Training fits K archetypes (`training.archetype_fit`): each is an answer probability for every
cell of the week, a cell being a day type x local hour (the last rest day, a working day, the
last working day, the first rest day x 24 hours; in a zone resting on Saturday and Sunday those
are Sunday, Monday-Thursday, Friday and Saturday, and `week_days` has the zones whose week
differs), with a share of the population in each time zone.

People who share a weekly shape still answer more or less often overall, so each archetype comes
in a few *levels*: the same shape shifted up or down on the logit scale (`levels`, the offsets;
a row of `rates` per archetype and level, archetype-major). Without them the mixture spends
archetypes on how often people answer instead of when, and a minority's shape gets none.

For one contact, Bayes' rule gives P(archetype and level | the contact's calls and answers),
starting from the zone's shares; the contact's curve is the posterior mix of the archetype curves. A
contact without calls gets the zone's population curve; every call moves it exactly as far as
the evidence warrants, the same way for a cell the contact was called at and one it never was
(the curves are smooth across hours and share strength across day types, so a call at 18:00
says something about 19:00). That curve is what recommendations rank: it is the evidence and the
prior combined once, not a learner's guess about rows unlike any it was trained on.

Imports only numpy: it is shipped to the serving container.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from inference_code.week_days import DEFAULT_WEEK, N_DAY_TYPES

HOURS = 24
# Day of week (Sunday = 0) -> day type in a zone resting on Saturday and Sunday: Sunday,
# Monday-Thursday, Friday, Saturday (`week_days`).
DAYTYPE_OF_DOW = np.array(DEFAULT_WEEK)
N_DAYTYPES = N_DAY_TYPES
N_CELLS = N_DAYTYPES * HOURS


def cell_of(dow: np.ndarray | int, hour: np.ndarray | int,
            day_types: np.ndarray = DAYTYPE_OF_DOW) -> np.ndarray:
    """The weekly cell (day type x hour) of local (day of week, hour) pairs, in a week with
    these day types (by default, one resting on Saturday and Sunday)."""
    return day_types[np.asarray(dow)] * HOURS + np.asarray(hour)


def zone_cells(week: Mapping[str, Sequence[int]],
               zones: np.ndarray | tuple[np.ndarray, Sequence[str]], dow: np.ndarray,
               hour: np.ndarray) -> np.ndarray:
    """The weekly cell of each row's local (day of week, hour) in the row's zone, the zones'
    day types from `week` (zone -> 7 day types; a zone not in it: the default week). `zones`:
    each row's zone name, or (codes, names) as `pandas.factorize` gives them (on many rows, a
    tenth of the cost)."""
    if isinstance(zones, tuple):
        codes, names = zones
    else:
        names, codes = np.unique(np.asarray(zones, dtype=str), return_inverse=True)
    table = np.array([week.get(str(name), DAYTYPE_OF_DOW) for name in names] or [DAYTYPE_OF_DOW],
                     dtype=np.int64).reshape(-1, 7)
    return table[np.asarray(codes, dtype=np.int64), np.asarray(dow)] * HOURS + np.asarray(hour)


# (7 * 24,) the weekly cell of every slot, slots in (day of week, hour) order: a curve over cells
# read as one over the week's slots is `curve[..., SLOT_CELL]`.
SLOT_CELL = cell_of(np.repeat(np.arange(7), HOURS), np.tile(np.arange(HOURS), 7))


@dataclass(frozen=True)
class Archetypes:
    # A mixture component is an archetype at a level: rows archetype-major (row = k * L + l).
    rates: np.ndarray  # (K * L, N_CELLS) answer probability per component and cell
    weights: np.ndarray  # (K * L,) the population's shares
    zone_weights: dict[str, np.ndarray]  # zone -> (K * L,) shares among that zone's contacts
    levels: tuple[float, ...] = (0.0,)  # the levels' logit offsets (L); one: no levels
    # zone -> its week's 7 day types (Sunday first), where not the default week: the cells the
    # model was trained on (`week_days`). Empty: every zone has the default week, as every
    # model had before zones' weeks were told apart.
    week: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.rates.ndim != 2 or self.rates.shape[1] != N_CELLS:
            raise ValueError(f"archetype rates must be (K, {N_CELLS}), got {self.rates.shape}")
        if not self.levels or len(self.rates) % len(self.levels):
            raise ValueError(f"{len(self.rates)} archetype rows are not a whole number of "
                             f"archetypes at {len(self.levels)} levels")
        for name, shares in (("weights", self.weights), *(
                (f"zone_weights[{zone!r}]", w) for zone, w in self.zone_weights.items())):
            if np.shape(shares) != (len(self.rates),):
                raise ValueError(f"archetype {name} has {np.size(shares)} shares for "
                                 f"{len(self.rates)} rows of rates")
        for zone, types in self.week.items():
            if (not isinstance(zone, str) or len(types) != 7
                    or not all(t in range(N_DAYTYPES) for t in types)):
                raise ValueError(f"archetypes.week[{zone!r}] must be 7 day types in "
                                 f"0..{N_DAYTYPES - 1} (Sunday first), got {types!r}")
        object.__setattr__(self, "_week", {z: np.asarray(t, dtype=np.int64)
                                           for z, t in self.week.items()})
        # Row 2 * cell + answered: the log-likelihood of that outcome at that cell, (2 cells, K).
        outcome = np.empty((2 * N_CELLS, len(self.rates)))
        outcome[0::2], outcome[1::2] = np.log1p(-self.rates).T, np.log(self.rates).T
        object.__setattr__(self, "_log_outcome", outcome)
        # Log shares per zone, computed once (every request reads them).
        object.__setattr__(self, "_log_zone", {z: np.log(w) for z, w in self.zone_weights.items()})
        object.__setattr__(self, "_log_weights", np.log(self.weights))

    @property
    def k(self) -> int:
        """Mixture components (archetypes x levels)."""
        return len(self.weights)

    @property
    def shapes(self) -> int:
        """Archetypes (weekly shapes), each at every level."""
        return self.k // len(self.levels)

    def shape_shares(self, shares: np.ndarray) -> np.ndarray:
        """(..., K) shares per archetype (its levels summed) from (..., K * L) per component."""
        return shares.reshape(*shares.shape[:-1], self.shapes, len(self.levels)).sum(axis=-1)

    def shape_rates(self) -> np.ndarray:
        """(K, N_CELLS) each archetype's curve at its middle level (the offset nearest 0)."""
        middle = int(np.argmin(np.abs(np.asarray(self.levels))))
        return self.rates.reshape(self.shapes, len(self.levels), N_CELLS)[:, middle]

    def day_types(self, zone: str) -> np.ndarray:
        """(7,) the day type of each day of the week (Sunday first) in this zone."""
        return self._week.get(zone, DAYTYPE_OF_DOW)

    def cells(self, zone: str, dow: np.ndarray | int, hour: np.ndarray | int) -> np.ndarray:
        """The weekly cells of one zone's local (day of week, hour) pairs."""
        return cell_of(dow, hour, self.day_types(zone))

    def slot_cells(self, zone: str) -> np.ndarray:
        """(7 * 24,) the cell of every slot of the week in this zone, (day of week, hour)
        order: a curve over cells read as one over the zone's slots is `curve[..., cells]`."""
        return self.day_types(zone).repeat(HOURS) * HOURS + np.tile(np.arange(HOURS), 7)

    def row_cells(self, zones: np.ndarray | tuple[np.ndarray, Sequence[str]], dow: np.ndarray,
                  hour: np.ndarray) -> np.ndarray:
        """The cell of each row's local (day of week, hour) in the row's zone (`zone_cells`)."""
        return zone_cells(self.week, zones, dow, hour)

    def log_prior(self, zones: np.ndarray | list[str]) -> np.ndarray:
        """(N, K) log shares for contacts in these zones (the population's for an unseen zone)."""
        return np.array([self._log_zone.get(zone, self._log_weights) for zone in zones]
                        ).reshape(-1, self.k)

    def call_evidence(self, cells: np.ndarray, answered: np.ndarray) -> np.ndarray:
        """(N, K) log-likelihood of each call's outcome under each archetype."""
        index = 2 * np.asarray(cells, dtype=np.int64) + np.asarray(answered, dtype=bool)
        return np.take(self._log_outcome, index, axis=0)

    @staticmethod
    def posterior(log_joint: np.ndarray, in_place: bool = False) -> np.ndarray:
        """Normalize (..., K) log prior + log-likelihood into probabilities (overwriting
        `log_joint` when in_place: a million rows' worth is hundreds of MB)."""
        out = log_joint if in_place else log_joint.copy()
        out -= out.max(axis=-1, keepdims=True)
        np.exp(out, out=out)
        out /= out.sum(axis=-1, keepdims=True)
        return out

    def contact_posterior(self, zone: str, cells: np.ndarray, answered: np.ndarray
                          ) -> np.ndarray:
        """(K,) P(archetype | one contact's calls) from its zone and its calls' cells/outcomes."""
        log_joint = self.log_prior([zone])[0]
        if len(cells):
            log_joint = log_joint + self.call_evidence(cells, answered).sum(axis=0)
        return self.posterior(log_joint)

    def curve(self, posterior: np.ndarray) -> np.ndarray:
        """(..., N_CELLS) answer probability per cell for posterior mixes (..., K)."""
        return posterior @ self.rates

    def to_dict(self) -> dict[str, object]:
        return {"cells": "day type x local hour; day types: 0 the last rest day, 1 a working day, "
                         "2 the last working day, 3 the first rest day; a zone's week in `week`, "
                         "any other zone's 0 Sunday, 1 Monday-Thursday, 2 Friday, 3 Saturday",
                "week": {z: list(t) for z, t in sorted(self.week.items())},
                "rows": "archetype-major: archetype k at level l is row k * len(levels) + l",
                "levels": [float(level) for level in self.levels],
                "rates": np.round(self.rates, 6).tolist(),
                "weights": np.round(self.weights, 6).tolist(),
                "zone_weights": {z: np.round(w, 6).tolist()
                                 for z, w in sorted(self.zone_weights.items())}}

    @classmethod
    def from_dict(cls, data: dict) -> Archetypes:
        return cls(np.asarray(data["rates"], dtype=np.float64),
                   np.asarray(data["weights"], dtype=np.float64),
                   {str(z): np.asarray(w, dtype=np.float64)
                    for z, w in data["zone_weights"].items()},
                   _levels(data.get("levels", (0.0,))), _week(data.get("week", {})))


def _levels(stored: object) -> tuple[float, ...]:
    """The stored `levels`: a non-empty list of finite numbers, or a ValueError naming it."""
    if not isinstance(stored, (list, tuple)) or not stored or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
            for v in stored):
        raise ValueError(f"archetypes.levels must be a non-empty list of finite numbers (logit "
                         f"offsets), got {stored!r}")
    return tuple(float(v) for v in stored)


def _week(stored: object) -> dict[str, tuple[int, ...]]:
    """The stored `week`: zone -> 7 integers (checked by Archetypes), or a ValueError naming it."""
    if not isinstance(stored, dict) or not all(
            isinstance(t, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool)
                                                 for v in t) for t in stored.values()):
        raise ValueError(f"archetypes.week must map zones to lists of 7 day types, got "
                         f"{stored!r:.200}")
    return {str(z): tuple(t) for z, t in stored.items()}
