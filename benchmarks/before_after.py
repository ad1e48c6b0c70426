"""Issue 14's figures, before and after, on the same machine in one run.

    make bench                               # or: python -m benchmarks.before_after [--contacts N]
    python -m benchmarks.before_after --baseline 0378705      # before issue 27's model work

"Before" is BASELINE, the last commit before the model rework (weekly archetypes ranking
recommendations; one fit; samples sized for precision), or the commit `--baseline` names;
"after" is this working tree. Both are
measured the same way, each in its own interpreter (`benchmarks/version_probe.py`): the
baseline's tree comes from `git archive`, so this needs the repository's history (a clone).

- Training: on the same generated log of about 1,000,000 calls, features (`dataset.build`), one
  fit on every row, and the whole `calltime train`; the goal is whole <= 1.5 x (features + fit).
- In process (each version 5 times, alternating; the median of the rounds): each version's
  artifact loaded with its own shipped handlers; a recommendations
  request for one contact with 50 calls of history (goal p50 <= 0.3 ms since issue 27, 0.5
  before), 3 such contacts, and
  the seed's one-row format.
- Under load: each artifact served by `calltime serve`, 200 concurrent clients (on the same 2
  cores), recommendations for 3 contacts x 50 calls and the seed's one-row format; the goal is
  recommendations at >= 25 % of the seed format's requests/s; cold start to the first answer.
- The artifact's size (< 1 MB) and load time (< 50 ms); holdout AUC and calibration (ECE).

Results also go to out/bench/before_after.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks.serving import OUT, _load, _post, one_contact_request, serve
from training import artifact
from training.commands import positive
from training.simulate import SimulationConfig, write

BASELINE = "4c1f1c3"  # main before issue 14
REPO = Path(__file__).resolve().parent.parent
PROBE = REPO / "benchmarks" / "version_probe.py"
SEED_ROW = {"features": [[1, 19, 0.4]]}
IN_PROCESS_ROUNDS = 5


def baseline_tree(directory: Path, baseline: str = BASELINE) -> Path:
    """The baseline commit's files, extracted from git into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", baseline], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True)
    return directory


def check_baseline(parser: argparse.ArgumentParser, baseline: str) -> None:
    """A usage error naming --baseline unless it is a commit of this repository."""
    known = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet",
                            f"{baseline}^{{commit}}"], capture_output=True)
    if known.returncode:
        parser.error(f"--baseline {baseline!r} is not a commit of {REPO} (a clone with its "
                     "history is needed: git fetch --unshallow)")


def probe(*args: str) -> dict:
    done = subprocess.run([sys.executable, str(PROBE), *args], capture_output=True, text=True,
                          cwd=tempfile.gettempdir())
    if done.returncode:
        raise RuntimeError(f"version_probe {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def under_load(tar_path: Path, bodies: dict[str, bytes], seconds: float, name: str) -> dict:
    started = time.perf_counter()
    process, port = serve(tar_path, OUT / f"served_{name}")
    try:
        status, _ = _post(f"http://127.0.0.1:{port}", bodies["recommendations"])
        out: dict = {"cold_start_to_first_answer_s": round(time.perf_counter() - started, 2),
                     "first_status": status}
        for label, body in bodies.items():
            asyncio.run(_load(port, body, 400, 5))  # warm every worker
            out[label] = asyncio.run(_load(port, body, 10**9, seconds))
        return out
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def run(work: Path, contacts: int, seconds: float, baseline: str = BASELINE) -> dict:
    data = work / "data"
    calls, truth = write(SimulationConfig(n_contacts=contacts, calls_per_contact=30.0, seed=5),
                         data)
    # The baseline reads a truth table of slot columns only (no behaviour group).
    plain_truth = data / "truth-slots-only.csv.gz"
    pd.read_csv(truth).drop(columns=["group"]).to_csv(plain_truth, index=False)
    trees = {"before": baseline_tree(work / "before", baseline), "after": REPO}
    bodies = {"recommendations": json.dumps(one_contact_request(50, 3)).encode(),
              "seed format": json.dumps(SEED_ROW).encode()}
    in_process_bodies = work / "bodies.json"
    in_process_bodies.write_text(json.dumps({
        "one_contact_50_calls": json.dumps(one_contact_request(50, 1)),
        "three_contacts_50_calls": bodies["recommendations"].decode(),
        "seed_one_row": bodies["seed format"].decode()}))
    results: dict = {"baseline": baseline, "contacts": contacts}
    model_dirs = {}
    for side, tree in trees.items():
        print(f"{side}: training on {calls} ...", flush=True)
        trained = probe("train", "--code", str(tree), "--calls", str(calls), "--truth",
                        str(plain_truth if side == "before" else truth),
                        "--out", str(work / f"model-{side}"))
        model_dirs[side] = artifact.extract(Path(trained["artifact"]), work / f"extracted-{side}")
        print(f"{side}: serving ...", flush=True)
        results[side] = {"training": trained,
                         "load": under_load(Path(trained["artifact"]), bodies, seconds, side)}
    # In process, the two alternate, IN_PROCESS_ROUNDS times each, and each figure is the
    # median of its rounds: a burst of other work on the machine then moves one round, not a side.
    rounds: dict[str, list[dict]] = {side: [] for side in trees}
    for _ in range(IN_PROCESS_ROUNDS):
        for side in trees:
            rounds[side].append(probe("serve", "--model-dir", str(model_dirs[side]),
                                      "--bodies", str(in_process_bodies)))
    for side in trees:
        results[side]["in_process"] = median_of_rounds(rounds[side])
    return results


def median_of_rounds(rounds: list[dict]) -> dict:
    """Every number of a probe's result, the median over rounds (nested dicts kept)."""
    first = rounds[0]
    if isinstance(first, dict):
        return {key: median_of_rounds([r[key] for r in rounds]) for key in first}
    return sorted(rounds)[len(rounds) // 2]


def table(results: dict) -> str:
    b, a = results["before"], results["after"]

    def ratio(side: dict) -> str:
        load = side["load"]
        return (f"{load['recommendations']['requests_per_second']
                   / load['seed format']['requests_per_second']:.0%}")

    rows = [
        ("`calltime train`, whole (s)", b["training"]["train_seconds"],
         a["training"]["train_seconds"], ""),
        ("features + one fit on every row (s)",
         round(b["training"]["features_seconds"] + b["training"]["fit_seconds"], 1),
         round(a["training"]["features_seconds"] + a["training"]["fit_seconds"], 1), ""),
        ("whole / (features + fit)", b["training"]["ratio"], a["training"]["ratio"], "<= 1.5"),
        ("rank 1 contact, 50 calls, in process p50 (ms)",
         b["in_process"]["one_contact_50_calls"]["p50_ms"],
         a["in_process"]["one_contact_50_calls"]["p50_ms"], "<= 0.3"),
        ("3 contacts x 50 calls, in process p50 (ms)",
         b["in_process"]["three_contacts_50_calls"]["p50_ms"],
         a["in_process"]["three_contacts_50_calls"]["p50_ms"], ""),
        ("seed one row, in process p50 (ms)", b["in_process"]["seed_one_row"]["p50_ms"],
         a["in_process"]["seed_one_row"]["p50_ms"], ""),
        ("200 clients: recommendations req/s",
         b["load"]["recommendations"]["requests_per_second"],
         a["load"]["recommendations"]["requests_per_second"], ""),
        ("200 clients: recommendations p50 (ms)", b["load"]["recommendations"]["latency_ms_p50"],
         a["load"]["recommendations"]["latency_ms_p50"], ""),
        ("200 clients: seed format req/s", b["load"]["seed format"]["requests_per_second"],
         a["load"]["seed format"]["requests_per_second"], ""),
        ("recommendations / seed format throughput", ratio(b), ratio(a), ">= 25%"),
        ("errors under load",
         sum(b["load"][k]["errors"] for k in ("recommendations", "seed format")),
         sum(a["load"][k]["errors"] for k in ("recommendations", "seed format")), "0"),
        ("cold start to first answer (s)", b["load"]["cold_start_to_first_answer_s"],
         a["load"]["cold_start_to_first_answer_s"], "not worse"),
        ("artifact bytes", f"{b['training']['artifact_bytes']:,}",
         f"{a['training']['artifact_bytes']:,}", "< 1 MB"),
        ("artifact load, median (ms)", b["in_process"]["load_ms_median"],
         a["in_process"]["load_ms_median"], "< 50"),
        ("holdout ROC AUC", b["training"]["roc_auc"], a["training"]["roc_auc"], "not worse"),
        ("holdout calibration ECE", b["training"]["ece"], a["training"]["ece"], "not worse"),
        ("best-slot capture (served ranking)", b["training"]["capture"].get("model"),
         a["training"]["capture"].get("model"), ""),
        ("best global slot's capture", b["training"]["capture"].get("best_global_slot"),
         a["training"]["capture"].get("best_global_slot"), ""),
    ]
    lines = [f"Before ({results['baseline']}) and after, same machine, one run; "
             f"{b['training']['rows']:,} valid calls ({results['contacts']:,} contacts).", "",
             "| measure | before | after | goal |", "|---|---:|---:|---|"]
    lines += [f"| {name} | {x} | {y} | {goal} |" for name, x, y, goal in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=positive(int), default=25_000,
                        help="contacts in the generated log (25,000: about a million calls)")
    parser.add_argument("--seconds", type=positive(float), default=20.0,
                        help="seconds of load per request kind and version")
    parser.add_argument("--baseline", default=BASELINE,
                        help=f"the commit to compare with (default {BASELINE}, before issue 14)")
    args = parser.parse_args(argv)
    check_baseline(parser, args.baseline)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="calltime-before-after-") as tmp:
        results = run(Path(tmp), args.contacts, args.seconds, args.baseline)
    (OUT / "before_after.json").write_text(json.dumps(results, indent=2))
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
