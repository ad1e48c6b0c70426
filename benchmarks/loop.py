"""Closed loop: the campaign calls at the model's recommendations, week after week, and the model
is retrained on what those calls answered.

    make bench-loop          # or: python -m benchmarks.loop [--rounds 8] [--population minorities]

The generator (`training.simulate`) writes a population and the legacy dialer's log (its truth:
every contact's answer probability for every local slot). Half the contacts are the campaign's;
the other half are held out (the campaign never calls them; their history is the legacy log).
Each round is a week: every campaign contact is called `--calls` times at slots chosen by the
model trained at the end of the previous round, the outcomes are drawn from the truth, appended to
the log, and the model is retrained on the whole log by `training.train.train`, the code
`calltime train` runs. Two arms start from the same log and differ in how the campaign chooses:

- greedy: the top slots of the contact's weekly answer curve (what the endpoint recommends);
- explore: Thompson sampling, each call's slot the best of one curve drawn from the contact's
  posterior over the archetypes (a contact the model is sure about is called where it says;
  an uncertain one is called where one of its likely archetypes answers).

After each retrain, for both contact sets, the capture of the model's top-1 in-window slot
((true rate - random slot) / (oracle - random slot), as `make bench-quality`) from each
contact's history so far; and what the round's campaign calls answered. Results also go to
out/bench/loop.json.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.serving import OUT
from inference_code.archetypes import HOURS, N_CELLS, Archetypes
from inference_code.features import FeatureParams
from inference_code.ranking import DEFAULT_WINDOW, window_mask
from training import call_log, dataset
from training.commands import positive
from training.populations import POPULATIONS
from training.simulate import SimulationConfig, write
from training.train import TrainSettings, train

ARMS = ("greedy", "explore")
ALLOWED = window_mask(DEFAULT_WINDOW).ravel()


@dataclass
class Contacts:
    ids: np.ndarray  # (C,) contact ids, in the truth's order
    zones: np.ndarray  # (C,)
    truth: np.ndarray  # (C, 168) answer probability per local (day of week, hour)
    campaign: np.ndarray  # (C,) bool: the campaign calls this contact
    calls: np.ndarray  # (C, 168) calls so far per local slot
    answers: np.ndarray  # (C, 168)

    def copy(self) -> Contacts:
        return Contacts(self.ids, self.zones, self.truth, self.campaign, self.calls.copy(),
                        self.answers.copy())


def _contacts(log: pd.DataFrame, truth: pd.DataFrame, campaign_share: float,
              rng: np.random.Generator) -> Contacts:
    valid = call_log.validate(log).valid
    ids = truth["contact_id"].to_numpy()
    zone_of = valid.groupby("contact_id")["timezone"].last()
    zones = zone_of.reindex(ids).fillna(call_log.DEFAULT_TIMEZONE).to_numpy().astype(str)
    index = pd.Index(ids).get_indexer(valid["contact_id"])
    dow, hour, _, _ = dataset.local_slots(valid["called_at"], valid["timezone"].to_numpy())
    calls = np.zeros((len(ids), 7 * HOURS))
    answers = np.zeros_like(calls)
    np.add.at(calls, (index, dow * HOURS + hour), 1)
    np.add.at(answers, (index, dow * HOURS + hour), valid["answered"].to_numpy(dtype=float))
    curves = truth.drop(columns=["contact_id", "group"]).to_numpy(dtype=float)
    return Contacts(ids, zones, curves, rng.random(len(ids)) < campaign_share, calls, answers)


def slot_cells(model: Archetypes, zones: np.ndarray) -> np.ndarray:
    """(N, 168) the model's cell of every (day of week, hour) slot in each contact's zone."""
    table = {z: model.slot_cells(z) for z in set(np.asarray(zones).tolist())}
    return np.stack([table[z] for z in np.asarray(zones).tolist()]) if len(zones) else (
        np.zeros((0, 7 * HOURS), dtype=np.int64))


def slot_curves(model: Archetypes, zones: np.ndarray, cell_values: np.ndarray) -> np.ndarray:
    """(N, 168) per-cell values (N, N_CELLS) read at every slot of each contact's zone."""
    return np.take_along_axis(cell_values, slot_cells(model, zones), axis=1)


def slot_posterior(model: Archetypes, zones: np.ndarray, calls: np.ndarray,
                   answers: np.ndarray) -> np.ndarray:
    """(N, K) P(component | zone and calls): `Archetypes.contact_posterior` for many contacts
    at once, from their (N, 168) calls and answers per local (day of week, hour) slot."""
    flat = (np.arange(len(zones))[:, None] * N_CELLS + slot_cells(model, zones)).ravel()

    def per_cell(values: np.ndarray) -> np.ndarray:
        return np.bincount(flat, weights=np.asarray(values, dtype=np.float64).ravel(),
                           minlength=len(zones) * N_CELLS).reshape(len(zones), N_CELLS)

    cell_calls, cell_answers = per_cell(calls), per_cell(answers)
    evidence = (cell_answers @ np.log(model.rates).T
                + (cell_calls - cell_answers) @ np.log1p(-model.rates).T)
    return Archetypes.posterior(model.log_prior(list(zones)) + evidence)


def posterior(model: Archetypes, contacts: Contacts, rows: np.ndarray) -> np.ndarray:
    """(N, K) the component posterior of these contacts from their calls so far."""
    return slot_posterior(model, contacts.zones[rows], contacts.calls[rows],
                          contacts.answers[rows])


def best_slots(curves: np.ndarray, n: int) -> np.ndarray:
    """(N, n) the n best allowed slots of each (N, 168) curve, best first."""
    scored = np.where(ALLOWED, curves, -np.inf)
    return np.argsort(-scored, axis=1, kind="stable")[:, :n]


def capture(contacts: Contacts, model: Archetypes, rows: np.ndarray) -> dict[str, float]:
    """Capture of the model's top-1 allowed slot on these contacts, from their calls so far, and
    its noise (two standard errors over contacts)."""
    curve = slot_curves(model, contacts.zones[rows], model.curve(posterior(model, contacts, rows)))
    pick = best_slots(curve, 1)[:, 0]
    true = contacts.truth[rows]
    rate = true[np.arange(len(rows)), pick]
    random, oracle = true[:, ALLOWED].mean(), true[:, ALLOWED].max(axis=1).mean()
    per_contact = (rate - true[:, ALLOWED].mean(axis=1)) / (oracle - random)
    return {"capture": round(float((rate.mean() - random) / (oracle - random)), 4),
            "noise": round(float(2 * per_contact.std(ddof=1) / np.sqrt(len(rows))), 4)}


def choose(arm: str, contacts: Contacts, model: Archetypes, rows: np.ndarray, n: int,
           rng: np.random.Generator) -> np.ndarray:
    """(N, n) the slots the campaign calls each contact at this week."""
    mix = posterior(model, contacts, rows)
    if arm == "greedy":
        return best_slots(slot_curves(model, contacts.zones[rows], model.curve(mix)), n)
    # Thompson sampling: each call's slot is the best of one component drawn from the posterior
    # that this week's earlier calls of the contact have not taken (as greedy's n slots differ).
    picks = np.empty((len(rows), n), dtype=np.int64)
    cumulative = np.cumsum(mix, axis=1)
    for j in range(n):
        drawn = (cumulative < rng.random((len(rows), 1))).sum(axis=1)
        drawn = np.minimum(drawn, model.k - 1)
        candidates = best_slots(slot_curves(model, contacts.zones[rows], model.rates[drawn]), j + 1)
        taken = (candidates[:, :, None] == picks[:, None, :j]).any(axis=2)
        picks[:, j] = candidates[np.arange(len(rows)), np.argmax(~taken, axis=1)]
    return picks


def call_rows(contacts: Contacts, rows: np.ndarray, slots: np.ndarray, week_start: pd.Timestamp,
              rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The week's calls at these local slots as call-log rows, their outcomes drawn from the
    truth; returns the rows, the answered flags and which calls were made (a local time that a
    clock change skips or repeats is not called: its slot would not be the one chosen)."""
    contact = np.repeat(rows, slots.shape[1])
    slot = slots.ravel()
    answered = rng.random(len(slot)) < contacts.truth[contact, slot]
    # week_start is a Sunday: the local date is week_start + day of week.
    dow, hour = slot // HOURS, slot % HOURS
    local = (week_start + pd.to_timedelta(dow, unit="D") + pd.to_timedelta(hour, unit="h")
             + pd.to_timedelta(rng.integers(0, 3600, len(slot)), unit="s"))
    stamps = np.empty(len(slot), dtype=object)
    zones = contacts.zones[contact]
    for zone in np.unique(zones):
        mask = zones == zone
        utc = pd.DatetimeIndex(local[mask]).tz_localize(zone, ambiguous="NaT",
                                                        nonexistent="NaT")
        stamps[mask] = utc.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy()
    keep = pd.notna(stamps) & (stamps != "NaT")
    frame = pd.DataFrame({
        "contact_id": contacts.ids[contact], "called_at": stamps,
        "answered": np.where(answered, "true", "false"),
        "duration_seconds": np.where(answered, rng.integers(20, 300, len(slot)), 0).astype(str),
        "campaign_id": "closed-loop", "timezone": zones, "agent_note": ""})
    return frame[keep], answered & keep, keep


def run_arm(arm: str, log: pd.DataFrame, start: Contacts, first_model: Archetypes, rounds: int,
            calls_per_round: int, end: pd.Timestamp, work: Path, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    contacts, model = start.copy(), first_model
    campaign, held_out = np.flatnonzero(start.campaign), np.flatnonzero(~start.campaign)
    history = [log]
    results = []
    week_start = end.normalize()
    week_start += pd.Timedelta(days=(6 - week_start.day_of_week) % 7)  # the next Sunday
    for round_ in range(1, rounds + 1):
        slots = choose(arm, contacts, model, campaign, calls_per_round, rng)
        week = week_start.tz_localize(None) + pd.Timedelta(weeks=round_ - 1)
        frame, answered, made = call_rows(contacts, campaign, slots, week, rng)
        contact = np.repeat(campaign, calls_per_round)
        np.add.at(contacts.calls, (contact[made], slots.ravel()[made]), 1)
        np.add.at(contacts.answers, (contact[made], slots.ravel()[made]), answered[made])
        history.append(frame)
        path = work / arm / "calls.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.concat(history, ignore_index=True).to_csv(path, index=False)
        started = time.perf_counter()
        result = train(path, work / arm / "model", TrainSettings(), version=f"loop-{arm}-{round_}")
        model = FeatureParams.from_dict(result.metadata["feature_params"]).archetype_model
        results.append({"round": round_, "answered": round(float(answered[made].mean()), 4),
                        "campaign": capture(contacts, model, campaign),
                        "held_out": capture(contacts, model, held_out),
                        "train_seconds": round(time.perf_counter() - started, 1)})
        print(f"  {arm:8s} round {round_}: {results[-1]}", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--population", choices=sorted(POPULATIONS), default="minorities")
    parser.add_argument("--contacts", type=positive(int), default=6000)
    parser.add_argument("--calls-per-contact", type=positive(float), default=15.0)
    parser.add_argument("--rounds", type=positive(int), default=8)
    parser.add_argument("--calls", type=positive(int), default=2,
                        help="campaign calls per campaign contact per round (default 2)")
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args(argv)
    work = OUT / "loop"
    config = SimulationConfig(n_contacts=args.contacts, population=args.population,
                              calls_per_contact=args.calls_per_contact, seed=args.seed)
    calls_path, truth_path = write(config, work / "data")
    log, truth = pd.read_csv(calls_path, dtype=str, keep_default_na=False), pd.read_csv(truth_path)
    start = _contacts(log, truth, 0.5, np.random.default_rng(args.seed))
    first = train(calls_path, work / "round-0", TrainSettings(), version="loop-0")
    model = FeatureParams.from_dict(first.metadata["feature_params"]).archetype_model
    campaign, held_out = np.flatnonzero(start.campaign), np.flatnonzero(~start.campaign)
    round0 = {"round": 0, "answered": None, "campaign": capture(start, model, campaign),
              "held_out": capture(start, model, held_out)}
    print(f"  round 0 (the legacy log): {round0}", flush=True)
    results = {"population": args.population, "contacts": args.contacts,
               "campaign_contacts": len(campaign), "calls_per_round": args.calls,
               "round_0": round0,
               "arms": {arm: run_arm(arm, log, start, model, args.rounds, args.calls,
                                     pd.Timestamp(config.end), work, args.seed + 1)
                        for arm in ARMS}}
    (OUT / "loop.json").write_text(json.dumps(results, indent=2))
    print(table(results))
    return 0


def table(results: dict) -> str:
    lines = [f"Closed loop on `{results['population']}`: {results['contacts']:,} contacts, "
             f"{results['campaign_contacts']:,} called by the campaign "
             f"{results['calls_per_round']} times a round; capture of the model's top slot "
             "after each retrain", "",
             "| round | greedy: answered | greedy: campaign | greedy: held out | "
             "explore: answered | explore: campaign | explore: held out |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    zero = results["round_0"]
    lines.append(f"| 0 (legacy log) | | {zero['campaign']['capture']:.3f} | "
                 f"{zero['held_out']['capture']:.3f} | | {zero['campaign']['capture']:.3f} | "
                 f"{zero['held_out']['capture']:.3f} |")
    for greedy, explore in zip(*(results["arms"][arm] for arm in ARMS), strict=True):
        lines.append(f"| {greedy['round']} | " + " | ".join(
            f"{r['answered']:.3f} | {r['campaign']['capture']:.3f} | "
            f"{r['held_out']['capture']:.3f}" for r in (greedy, explore)) + " |")
    noise = max(r[side]["noise"] for arm in ARMS for r in results["arms"][arm]
                for side in ("campaign", "held_out"))
    lines += ["", "Noise (two standard errors over contacts) of each capture: at most "
              f"{noise:.3f}."]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
