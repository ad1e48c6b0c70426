"""Synthetic call logs with known ground truth, for demos, tests and benchmarks.

Each contact has a weekly availability surface p(answer | local day, local hour) drawn from one of
several behaviour groups, whose shape differs by day type in the contact's own calendar (workday,
the short day before the weekend, weekend: the weekend is Friday-Saturday in some zones and
Saturday-Sunday in others). How many calls a contact has follows a long tail: most contacts of a
campaign base have a handful, a few have dozens. A dialer working Asia/Jerusalem business hours
calls contacts who live in several zones, retries the same day after a miss (answers fall with each
same-day attempt), runs campaigns of different appeal, and leaves some dirty rows behind. The
surface and each contact's group are written beside the log (`truth.csv.gz`) so evaluation can
compute the oracle, the true rate of a recommended slot, and capture per group.

Three populations differ in shape (zones and their calendars, the mix of groups, how thin the
histories are), so the model is judged on more than one generator: `office` (the default),
`retail`, and `minorities` (a large evening majority, two minorities of about 15 % whose good
hours in the calling window are where the majority's are poor, each contact's curve shifted by
its own hour or so, and a dialer that keeps to its office hours).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from inference_code.features import HOURS, N_SLOTS
from training.dataset import local_slots
from training.populations import CALENDARS, GROUPS, POPULATIONS, SHORT, WEEKEND, WORK, Population

DIALER_ZONE = "Asia/Jerusalem"
CAMPAIGN_EFFECT = {"renewals": 1.0, "survey": 0.8, "vip-offer": 1.2, "collections": 0.65}
FATIGUE = 0.7  # answer probability multiplier per earlier attempt the same local day

@dataclasses.dataclass(frozen=True)
class SimulationConfig:
    n_contacts: int = 2000
    calls_per_contact: float = 30.0  # mean first attempts per contact (retries come on top)
    weeks: int = 12
    end: str = "2026-06-01T00:00:00Z"
    retry_probability: float = 0.35
    explore_probability: float = 0.12
    dirty_fraction: float = 0.01
    seed: int = 7
    population: str = "office"

    def __post_init__(self) -> None:
        if self.population not in POPULATIONS:
            raise ValueError(f"population={self.population!r}: one of "
                             f"{', '.join(POPULATIONS)}")


def _circular_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = np.abs(a - b) % 24
    return np.minimum(d, 24 - d)


def availability(n_contacts: int, zones: np.ndarray, rng: np.random.Generator,
                 population: Population | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each contact's behaviour group, and the (n_contacts, 7, 24) true answer probability in
    the contact's local time."""
    population = population or POPULATIONS["office"]
    names = list(population.groups)
    share = np.array(list(population.groups.values()))
    group = rng.choice(len(names), size=n_contacts, p=share / share.sum())
    hours = np.arange(HOURS, dtype=float)[None, None, :]
    daytype = np.array([CALENDARS[z] for z in zones])[:, :, None]  # (C, 7, 1)
    weekend, short = daytype == WEEKEND, daytype == SHORT

    def is_group(name: str) -> np.ndarray:
        return np.isin(group, [names.index(name)] if name in names else [])[:, None, None]

    low = np.array([GROUPS[name][0][0] for name in names])[group]
    high = np.array([GROUPS[name][0][1] for name in names])[group]
    move = np.array([GROUPS[name][1] for name in names])[group] * population.weekend_shift
    work_peak = rng.uniform(low, high)[:, None, None]
    if population.hour_shift > 0:  # drawn only where the population has it (see Population)
        work_peak = work_peak + rng.normal(0, population.hour_shift, (n_contacts, 1, 1))
    # A contact's weekend peak moves by the group's shift (with a personal spread); the short
    # day sits half way.
    weekend_move = (move + rng.normal(0, 1.0, n_contacts))[:, None, None]
    peak = work_peak + np.where(weekend, weekend_move, np.where(short, weekend_move / 2, 0.0))
    base = rng.normal(-0.9, 0.7, size=(n_contacts, 1, 1))
    width = rng.uniform(1.2, 2.8, size=(n_contacts, 1, 1))
    amplitude = np.where(is_group("flat"), 0.0, rng.uniform(1.5, 3.0, (n_contacts, 1, 1)))
    bump = amplitude * np.exp(-_circular_distance(hours, peak) ** 2 / (2 * width**2))
    day_weight = np.ones((n_contacts, 7, 1))
    day_weight = np.where(is_group("weekend"), np.where(weekend, 1.0, 0.1), day_weight)
    on_shift = rng.random((n_contacts, 7, 1)) < 0.45
    day_weight = np.where(is_group("shift"), np.where(on_shift, 1.0, 0.0), day_weight)
    sleep_start = np.where(is_group("night_owl"), 3, 23)
    asleep = ((hours - sleep_start) % 24) < 7.5
    # At work: workdays 9-17, the short day 9-13 (not the weekend or shift groups).
    at_work = (((daytype == WORK) & (hours >= 9) & (hours < 17))
               | (short & (hours >= 9) & (hours < 13)))
    busy = at_work & ~is_group("weekend") & ~is_group("shift")
    logit = base + bump * day_weight - 3.0 * asleep - 0.6 * busy
    # Saturday (Shabbat) is quieter for contacts in Israel.
    logit = logit - 0.8 * ((zones == "Asia/Jerusalem")[:, None, None]
                           & (np.arange(7) == 6)[None, :, None])
    return np.array(names)[group], 1.0 / (1.0 + np.exp(-logit))


def calls_per_contact(n_contacts: int, mean: float, spread: float,
                      rng: np.random.Generator) -> np.ndarray:
    """First attempts per contact: Poisson around a lognormal contact rate with the given mean,
    so with a spread most contacts have a few calls and a long tail has many."""
    scale = rng.lognormal(-spread**2 / 2, spread, n_contacts) if spread > 0 else 1.0
    return rng.poisson(mean * scale)


def _dialer_times(n: int, start: pd.Timestamp, days: int, explore: float,
                  rng: np.random.Generator) -> pd.DatetimeIndex:
    """Attempt times as the dialer schedules them: mostly Sun-Thu 9-20 and Fri 9-13, its zone."""
    local_start = start.tz_convert(DIALER_ZONE).normalize().tz_localize(None)
    day = rng.integers(0, days, size=n)
    dates = local_start + pd.to_timedelta(day, unit="D")
    dow = (dates.day_of_week.to_numpy() + 1) % 7
    # Business hours need a working day: move Saturdays to Sunday (the dialer is closed).
    saturday = dow == 6
    dates = dates + pd.to_timedelta(saturday.astype(int), unit="D")
    dow = np.where(saturday, 0, dow)
    end_hour = np.where(dow == 5, 13, 20)
    hour = rng.integers(9, end_hour)
    exploring = rng.random(n) < explore
    hour = np.where(exploring, rng.integers(0, 24, n), hour)
    seconds = hour * 3600 + rng.integers(0, 3600, n)
    local = dates + pd.to_timedelta(seconds, unit="s")
    return local.tz_localize(DIALER_ZONE, ambiguous="NaT", nonexistent="shift_forward").tz_convert(
        "UTC")


def simulate(config: SimulationConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (call log as raw strings, ground truth: contact_id, group and the 168 slots'
    answer probabilities d{day}h{hour}, day 0 = Sunday, in the contact's local time)."""
    rng = np.random.default_rng(config.seed)
    n = config.n_contacts
    contact_ids = np.array([f"c-{i:06d}" for i in range(n)])
    population = POPULATIONS[config.population]
    zone_share = np.array(list(population.zones.values()))
    zones = rng.choice(np.array(list(population.zones)), size=n, p=zone_share / zone_share.sum())
    group, truth = availability(n, zones, rng, population)
    end = pd.Timestamp(config.end)
    days = config.weeks * 7
    start = end - pd.Timedelta(days=days)

    per_contact = calls_per_contact(n, config.calls_per_contact, population.history_spread, rng)
    contact = np.repeat(np.arange(n), per_contact)
    explore = population.explore_probability if population.explore_probability is not None \
        else config.explore_probability
    when = _dialer_times(len(contact), start, days, explore, rng)
    keep = ~when.isna()
    contact, when = contact[keep], when[keep]
    attempt = np.zeros(len(contact), dtype=np.int64)
    campaigns = np.array(list(CAMPAIGN_EFFECT))
    campaign = rng.choice(len(campaigns), size=len(contact))

    frames = [(contact, when, attempt, campaign)]
    answered_all = []
    # Primary attempts, then up to two same-day retries of misses, 1-4 hours later.
    for k in range(3):
        contact_k, when_k, attempt_k, campaign_k = frames[k]
        dow, hour, _, _ = local_slots(when_k, zones[contact_k])
        p = truth[contact_k, dow, hour] * FATIGUE**attempt_k
        p = np.clip(p * np.array(list(CAMPAIGN_EFFECT.values()))[campaign_k], 0, 0.98)
        answered = rng.random(len(p)) < p
        answered_all.append(answered)
        if k == 2:
            break
        retry = (~answered) & (rng.random(len(p)) < config.retry_probability)
        delay = pd.to_timedelta(rng.integers(3600, 4 * 3600, retry.sum()), unit="s")
        frames.append((contact_k[retry], when_k[retry] + delay, attempt_k[retry] + 1,
                       campaign_k[retry]))

    contact = np.concatenate([f[0] for f in frames])
    when = pd.DatetimeIndex(np.concatenate([f[1].to_numpy() for f in frames]))
    campaign = np.concatenate([f[3] for f in frames])
    answered = np.concatenate(answered_all)
    duration = np.where(answered, np.round(rng.lognormal(4.0, 0.8, len(answered))), 0)

    log = _render(contact_ids[contact], when, answered, duration, campaigns[campaign],
                  zones[contact], rng)
    log = _add_dirty_rows(log, config.dirty_fraction, rng)
    order = np.argsort(log["called_at"].str.slice(0, 19).to_numpy(), kind="stable")
    log = log.iloc[order].reset_index(drop=True)
    truth_table = pd.DataFrame(truth.reshape(n, N_SLOTS).round(4),
                               columns=[f"d{d}h{h}" for d in range(7) for h in range(HOURS)])
    truth_table.insert(0, "group", group)
    truth_table.insert(0, "contact_id", contact_ids)
    return log, truth_table


def _render(contact_id: np.ndarray, when: pd.DatetimeIndex, answered: np.ndarray,
            duration: np.ndarray, campaign: np.ndarray, zone: np.ndarray,
            rng: np.random.Generator) -> pd.DataFrame:
    """Write values the way real exports do: mixed boolean spellings, Z and offset timestamps."""
    stamps = when.strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy().astype(object)
    with_offset = rng.random(len(when)) < 0.25
    local = when[with_offset].tz_convert(DIALER_ZONE)
    offset = local.strftime("%z").str.replace(r"(\d{2})(\d{2})$", r"\1:\2", regex=True)
    stamps[with_offset] = (local.strftime("%Y-%m-%dT%H:%M:%S") + offset).to_numpy()
    spellings = np.array([["false", "true"], ["0", "1"], ["no", "yes"], ["FALSE", "TRUE"]])
    style = rng.integers(0, len(spellings), len(answered))
    zone_text = zone.astype(object)
    # The default zone is a setting; many exports leave it out for local contacts.
    blank = (zone == DIALER_ZONE) & (rng.random(len(zone)) < 0.3)
    zone_text[blank] = ""
    return pd.DataFrame({
        "contact_id": contact_id,
        "called_at": stamps,
        "answered": spellings[style, answered.astype(int)],
        "duration_seconds": duration.astype(int).astype(str),
        "campaign_id": campaign,
        "timezone": zone_text,
        "agent_note": "",
    })


def _add_dirty_rows(log: pd.DataFrame, fraction: float, rng: np.random.Generator) -> pd.DataFrame:
    """Copy some rows and break each copy one way, as real exports do."""
    n_dirty = int(len(log) * fraction)
    if n_dirty == 0:
        return log
    dirty = log.iloc[rng.integers(0, len(log), n_dirty)].copy()
    kind = rng.integers(0, 6, n_dirty)
    dirty.loc[kind == 0, "contact_id"] = ""
    dirty.loc[kind == 1, "called_at"] = "2026-13-45 25:61"
    dirty.loc[kind == 2, "timezone"] = "Mars/Olympus_Mons"
    dirty.loc[kind == 3, "answered"] = "maybe"
    dirty.loc[kind == 4, "duration_seconds"] = "-12"
    # kind 5 stays an exact copy: a duplicate export row.
    return pd.concat([log, dirty], ignore_index=True)


LOG_FORMATS = ("csv", "parquet")


def write(config: SimulationConfig, out_dir: Path, parts: int = 1,
          log_format: str = "csv") -> tuple[Path, Path]:
    """Write the log and `truth.csv.gz` into out_dir and return their paths: `calls.csv`, or
    with several parts (or Parquet) a folder `calls/` of `part-NNNNN.<format>` files split by
    call time, as a dialer exports a day at a time (a contact's calls span several parts)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log_format={log_format!r}: one of {', '.join(LOG_FORMATS)}")
    if parts < 1:
        raise ValueError(f"parts={parts}: at least 1")
    out_dir.mkdir(parents=True, exist_ok=True)
    log, truth = simulate(config)
    truth_path = out_dir / "truth.csv.gz"
    truth.to_csv(truth_path, index=False)
    if parts == 1 and log_format == "csv":
        calls_path = out_dir / "calls.csv"
        log.to_csv(calls_path, index=False)
        return calls_path, truth_path
    calls_path = out_dir / "calls"
    calls_path.mkdir(exist_ok=True)
    when = pd.to_datetime(log["called_at"], utc=True, format="ISO8601", errors="coerce")
    ordered = log.iloc[np.argsort(when.to_numpy(), kind="stable")]  # unreadable times last
    for index, chunk in enumerate(np.array_split(np.arange(len(ordered)), parts)):
        rows = ordered.iloc[chunk]
        target = calls_path / f"part-{index:05d}.{log_format}"
        if log_format == "csv":
            rows.to_csv(target, index=False)
        else:
            rows.to_parquet(target, index=False)
    return calls_path, truth_path
