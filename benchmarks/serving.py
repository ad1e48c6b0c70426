"""Serving benchmark: calltime's artifact vs the seed's pickled RandomForest on one server.

    make bench    # runs this after benchmarks.model_vs_seed; or python -m benchmarks.serving

Uses the artifacts that benchmarks.model_vs_seed left in out/bench (it trains them if missing).
Measures cold start to the first successful /ping + invocation, worker RSS after load, in-process
latency for one contact with 50 calls of history ranked over the default window and for 100
contacts per request, and sustained requests/s from 200 concurrent clients on loopback (bounded
by request count and time) with the error count.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from benchmarks import seed_inference
from inference_code import inference
from training import artifact

OUT = Path("out/bench")
SEED_CODE = Path(__file__).with_name("seed_inference.py")
CONCURRENCY = 200
LOAD_REQUESTS = 6000
LOAD_SECONDS = 60.0


def serve(model: Path, model_dir: Path) -> tuple[subprocess.Popen, int]:
    """`calltime serve --port 0`: the process and the port it chose, once /ping answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "calltime", "serve", "--model", str(model), "--port", "0",
         "--model-dir", str(model_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, text=True)
    port = int(process.stdout.readline().strip().rsplit(":", 1)[1])
    # Keep reading what it prints, so a full pipe never blocks the server.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5):
                return process, port
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"calltime serve of {model} did not come up") from None
            time.sleep(0.01)


def one_contact_request(n_history: int = 50, contacts: int = 1, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    people = []
    for c in range(contacts):
        offsets = np.sort(rng.uniform(0, 80 * 86400, n_history))
        history = [{"called_at": (start + dt.timedelta(seconds=float(s))).isoformat(),
                    "answered": bool(rng.random() < 0.3), "duration_seconds": 30}
                   for s in offsets]
        people.append({"contact_id": f"c-{c}", "timezone": "Asia/Jerusalem",
                       "history": history})
    return {"contacts": people, "top_k": 3, "as_of": "2026-06-01T06:00:00Z"}


def seed_artifact() -> Path:
    """model.joblib from model_vs_seed plus the seed-style inference.py, as a tar.gz."""
    path = OUT / "seed" / "model_with_code.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(OUT / "seed" / "model.joblib", arcname="model.joblib")
        tar.add(SEED_CODE, arcname="code/inference.py")
    return path


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _post(url: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(f"{url}/invocations", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


async def _load(port: int, body: bytes, total: int, seconds: float) -> dict:
    """200 keep-alive clients, each sending until `total` requests or `seconds` are used up."""
    head = (f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            f"\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    remaining = [total]
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    errors: list[str] = []

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while remaining[0] > 0 and time.monotonic() < deadline:
                remaining[0] -= 1
                started = time.perf_counter()
                writer.write(head + body)
                await writer.drain()
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                if b" 200 " not in status_line:
                    errors.append(status_line.decode().strip())
                latencies.append(time.perf_counter() - started)
        except (OSError, asyncio.IncompleteReadError) as err:
            errors.append(type(err).__name__)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {"requests": len(latencies), "errors": len(errors), "seconds": round(elapsed, 1),
            "requests_per_second": round(len(latencies) / elapsed, 1),
            "latency_ms_p50": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
            "latency_ms_p99": round(float(np.percentile(ms, 99)), 1) if len(ms) else None}


def serve_and_measure(tar_path: Path, body: bytes, name: str) -> dict:
    started = time.perf_counter()
    process, port = serve(tar_path, OUT / f"served_{name}")
    url = f"http://127.0.0.1:{port}"
    try:
        status, _ = _post(url, body)
        cold = time.perf_counter() - started
        assert status == 200, status
        workers = _children(process.pid)
        rss = [_rss_mb(pid) for pid in workers]
        load = asyncio.run(_load(port, body, LOAD_REQUESTS, LOAD_SECONDS))
        return {"cold_start_seconds": round(cold, 2), "workers": len(workers),
                "worker_rss_mb_max": round(max(rss), 1), "load": load}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def in_process_latency(model_dir: Path) -> dict:
    model = inference.model_fn(str(model_dir))
    out = {}
    for label, contacts in (("one_contact", 1), ("hundred_contacts", 100)):
        body = json.dumps(one_contact_request(contacts=contacts))
        samples = []
        repeat = 500 if contacts == 1 else 30
        for _ in range(repeat + 3):
            started = time.perf_counter()
            data = inference.input_fn(body, "application/json")
            inference.output_fn(inference.predict_fn(data, model), "application/json")
            samples.append((time.perf_counter() - started) * 1000)
        ms = np.array(samples[3:])
        out[label] = {"p50_ms": round(float(np.percentile(ms, 50)), 2),
                      "p99_ms": round(float(np.percentile(ms, 99)), 2)}
    return out


def seed_in_process_latency() -> dict:
    model = seed_inference.model_fn(str(OUT / "seed"))
    # The seed ranks a contact by scoring the 65 default-window slots as feature rows.
    rows = [[d, h, 0.3] for d in range(6) for h in range(9, 21 if d < 5 else 14)]
    body = json.dumps({"features": rows})
    samples = []
    for _ in range(53):
        started = time.perf_counter()
        seed_inference.output_fn(seed_inference.predict_fn(
            seed_inference.input_fn(body, "application/json"), model), "application/json")
        samples.append((time.perf_counter() - started) * 1000)
    ms = np.array(samples[3:])
    return {"one_contact": {"p50_ms": round(float(np.percentile(ms, 50)), 2),
                            "p99_ms": round(float(np.percentile(ms, 99)), 2)}}


def main() -> int:
    ours_tar = OUT / "ours" / "model.tar.gz"
    if not ours_tar.exists() or not (OUT / "seed" / "model.joblib").exists():
        from benchmarks import model_vs_seed

        model_vs_seed.main([])
    ours_dir = artifact.extract(ours_tar, OUT / "ours_inproc")
    seed_tar = seed_artifact()
    slots_body = json.dumps(one_contact_request()).encode()
    rows = [[d, h, 0.3] for d in range(6) for h in range(9, 21 if d < 5 else 14)]
    seed_body = json.dumps({"features": rows}).encode()
    results = {
        "in_process": {"calltime": in_process_latency(ours_dir),
                       "seed": seed_in_process_latency()},
        "server": {"calltime": serve_and_measure(ours_tar, slots_body, "ours"),
                   "seed": serve_and_measure(seed_tar, seed_body, "seed")},
    }
    (OUT / "serving_results.json").write_text(json.dumps(results, indent=2))
    ours, seed = results["server"]["calltime"], results["server"]["seed"]
    ip_ours, ip_seed = results["in_process"]["calltime"], results["in_process"]["seed"]
    print("\nServing, same machine; calltime ranks one contact (50 calls of history) over the "
          "default window,\nthe seed scores the same 65 slots as feature rows.\n")
    print(f"{'measure':46} {'calltime':>12} {'seed RF':>12}   floor")
    table = [
        ("cold start: spawn -> /ping 200 + 1st invoke (s)", ours["cold_start_seconds"],
         seed["cold_start_seconds"], "< 2 s"),
        ("worker RSS after load, max (MB)", ours["worker_rss_mb_max"],
         seed["worker_rss_mb_max"], "< 300 MB"),
        ("in-process, 1 contact p50 (ms)", ip_ours["one_contact"]["p50_ms"],
         ip_seed["one_contact"]["p50_ms"], ""),
        ("in-process, 1 contact p99 (ms)", ip_ours["one_contact"]["p99_ms"],
         ip_seed["one_contact"]["p99_ms"], "< 10 ms"),
        ("in-process, 100 contacts/request p50 (ms)", ip_ours["hundred_contacts"]["p50_ms"],
         "n/a", ""),
        ("in-process, 100 contacts/request p99 (ms)", ip_ours["hundred_contacts"]["p99_ms"],
         "n/a", ""),
        (f"{CONCURRENCY} clients: requests/s", ours["load"]["requests_per_second"],
         seed["load"]["requests_per_second"], ""),
        (f"{CONCURRENCY} clients: p99 latency (ms)", ours["load"]["latency_ms_p99"],
         seed["load"]["latency_ms_p99"], ""),
        (f"{CONCURRENCY} clients: errors / requests",
         f"{ours['load']['errors']}/{ours['load']['requests']}",
         f"{seed['load']['errors']}/{seed['load']['requests']}", "0 errors"),
    ]
    for name, a, b, floor in table:
        print(f"{name:46} {a!s:>12} {b!s:>12}   {floor}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
