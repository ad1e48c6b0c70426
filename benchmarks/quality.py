"""Recommendation quality on three generator settings, by history depth and behaviour group.

    make bench-quality                     # or: python -m benchmarks.quality [--contacts N]

For each population of the demo generator (`training/populations.py`: `office` and `retail`
differ in zones and weekends, the mix of behaviour groups and how thin histories are;
`minorities` has two groups of about 15 % whose good hours are where the evening majority's are
poor, per-contact hour shifts and a dialer keeping to its office hours), trains
with `calltime train` and prints the capture of the top-1 in-window slot
((true rate - random slot) / (oracle - random slot)) for:

- the model: the served ranking (the contact's weekly answer curve);
- the forest's ranking: the gradient-boosted forest scoring every slot, the former approach;
- the best global slot, and the seed's RandomForest;
- the Bayes ceiling: a contact's pattern inferred from its history by Bayes' rule over the
  *true* answer curves of every other contact of its zone (what an estimator that knew the
  generator's curves could do with the same evidence; no model fitted from data can beat it
  on average).

and the model's difference to the best global slot with its noise (two standard errors), per
history-depth band and per behaviour group. Results also go to out/bench/quality.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.serving import OUT
from inference_code.features import HOURS
from inference_code.ranking import DEFAULT_WINDOW, window_mask
from training import call_log, dataset, evaluate
from training.commands import positive
from training.populations import POPULATIONS
from training.simulate import SimulationConfig, write
from training.train import TrainSettings, train

COLUMNS = ("model", "forest_ranking", "best_global_slot", "seed_random_forest")


def bayes_ceiling(calls: Path, truth: pd.DataFrame) -> dict:
    """Capture of the Bayes decision with the true curves, overall, by depth band and group."""
    valid = call_log.load(calls).valid
    ts = dataset.build(valid, params=dataset.FeatureParams(0.3))
    cut = evaluate.temporal_cut(ts.epoch, evaluate.EvaluationSettings().test_fraction)
    before = ts.epoch < cut
    n = int(ts.contact_code.max()) + 1
    ids = ts.contact_id[np.searchsorted(ts.contact_code, np.arange(n))]
    table = truth.set_index("contact_id").loc[ids]
    groups = table["group"].to_numpy()
    curves = np.clip(table.drop(columns=["group"]).to_numpy(dtype=float), 1e-4, 1 - 1e-4)
    zone = pd.Series(ts.timezone, index=ts.contact_code).groupby(level=0).first().to_numpy()
    slot = ts.dow * HOURS + ts.hour
    calls_n, answers = np.zeros_like(curves), np.zeros_like(curves)
    np.add.at(calls_n, (ts.contact_code[before], slot[before]), 1)
    np.add.at(answers, (ts.contact_code[before], slot[before]), ts.y[before])
    test = np.unique(ts.contact_code[~before])
    allowed = window_mask(DEFAULT_WINDOW).ravel()
    log_lik = answers[test] @ np.log(curves).T + (calls_n[test] - answers[test]) @ np.log1p(
        -curves).T
    log_lik[zone[test][:, None] != zone[None, :]] = -np.inf  # the contact's zone's people
    log_lik[np.arange(len(test)), test] = -np.inf  # not its own curve
    posterior = np.exp(log_lik - log_lik.max(axis=1, keepdims=True))
    posterior /= posterior.sum(axis=1, keepdims=True)
    expected = posterior @ curves
    pick = np.flatnonzero(allowed)[np.argmax(expected[:, allowed], axis=1)]
    true = curves[test]
    rate = true[np.arange(len(test)), pick]
    depth = calls_n[test].sum(axis=1)

    def capture(mask: np.ndarray) -> float | None:
        if not mask.any():
            return None
        rnd, best = true[mask][:, allowed].mean(), true[mask][:, allowed].max(axis=1).mean()
        return round(float((rate[mask].mean() - rnd) / (best - rnd)), 4)

    every = np.ones(len(test), dtype=bool)
    return {"all": capture(every),
            "by_history_depth": {label: capture((depth >= low) & (depth <= high))
                                 for label, low, high in evaluate.DEPTH_BANDS},
            "by_group": {g: capture(groups[test] == g) for g in sorted(set(groups[test]))}}


def population(name: str, contacts: int, calls_per_contact: float, work: Path) -> dict:
    data = work / name
    calls, truth_path = write(SimulationConfig(n_contacts=contacts, population=name,
                                               calls_per_contact=calls_per_contact, seed=11),
                              data)
    truth = pd.read_csv(truth_path)
    # Every held-out contact is scored, the same contacts as the Bayes ceiling's.
    settings = TrainSettings(evaluation=evaluate.EvaluationSettings(max_contacts=10**9))
    result = train(calls, data / "model", settings, truth=truth, version=f"quality-{name}")
    rec = result.metadata["metrics"]["recommendation"]
    return {"rows_valid": result.metadata["data"]["rows_valid"],
            "recommendation": {k: rec[k] for k in ("contacts", "capture",
                                                   "model_vs_best_global_slot",
                                                   "by_history_depth", "by_group")},
            "roc_auc": result.metadata["metrics"]["classification"]["roc_auc"],
            "bayes_ceiling": bayes_ceiling(calls, truth)}


def table(name: str, result: dict) -> str:
    rec, ceiling = result["recommendation"], result["bayes_ceiling"]
    lines = [f"Population `{name}`: {result['rows_valid']:,} calls, {rec['contacts']:,} held-out "
             f"contacts; holdout ROC AUC {result['roc_auc']}", "",
             "| contacts | n | model | forest ranking | best global slot | seed RF | "
             "Bayes ceiling | model - global (noise) |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]

    def row(label: str, cell: dict, bound: float | None) -> str:
        if not cell.get("contacts", 1):
            return f"| {label} | 0 | | | | | | |"
        cap = cell["capture"]
        versus = cell.get("model_vs_best_global_slot", {})
        return (f"| {label} | {cell.get('contacts', rec['contacts']):,} | "
                + " | ".join(f"{cap[c]:.3f}" for c in COLUMNS)
                + f" | {bound if bound is not None else ''} | "
                f"{versus.get('difference', 0):+.3f} ({versus.get('noise', 0):.3f}) |")

    lines.append(row("all", rec, ceiling["all"]))
    for label, cell in rec["by_history_depth"].items():
        lines.append(row(f"{label} calls", cell, ceiling["by_history_depth"].get(label)))
    for label, cell in rec["by_group"].items():
        lines.append(row(f"group {label}", cell, ceiling["by_group"].get(label)))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=positive(int), default=8000)
    parser.add_argument("--calls-per-contact", type=positive(float), default=15.0)
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    work = OUT / "quality"
    results = {name: population(name, args.contacts, args.calls_per_contact, work)
               for name in POPULATIONS}
    (OUT / "quality.json").write_text(json.dumps(results, indent=2))
    for name, result in results.items():
        print(table(name, result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
