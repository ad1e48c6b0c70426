"""Load and soak: 200 concurrent clients against the endpoint, as `calltime serve` (the container's
server, directly) and through the local SageMaker's InvokeEndpoint (the emulated serverless
endpoint: MaxConcurrency, the 4 MB limit, the runtime API), with the campaign's two requests.

    make bench-load                      # 60 s per cell (about 6 minutes)
    python -m benchmarks.load --seconds 60 --soak 600   # and a 10-minute soak on `calltime serve`

Requests: recommendations for 3 contacts x 50 calls of history (the recommendations format), and
the seed's one-row format (`{"features": [[day, hour, rate]]}`, what the campaign Lambda sends).
Every cell reports requests/s, p50/p99, errors (any answer but 200) and the model server's
worker memory before and after; the soak samples worker memory every 30 s (no growth expected).
Then where a recommendations request's time goes: one request's profile in process, and
Little's law (in flight / throughput = latency) for what the clients wait.

Uses out/bench/ours/model.tar.gz (`make bench` trains it; trained here if missing).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.serving import OUT, _children, _load, _rss_mb, one_contact_request, serve
from training.commands import positive

CONCURRENCY = 200
SEED_ROW = {"features": [[1, 19, 0.4]]}


def requests() -> dict[str, bytes]:
    return {"recommendations (3 contacts x 50 calls)":
            json.dumps(one_contact_request(n_history=50, contacts=3)).encode(),
            "seed format (one row)": json.dumps(SEED_ROW).encode()}


def _workers_rss(pid: int) -> list[float]:
    return [round(_rss_mb(p), 1) for p in _children(pid)]


def direct(model: Path, body: bytes, seconds: float) -> dict[str, Any]:
    process, port = serve(model, OUT / "served_load")
    try:
        asyncio.run(_load(port, body, 50, 5))  # warm every worker before measuring memory
        before = _workers_rss(process.pid)
        load = asyncio.run(_load(port, body, 10**9, seconds))
        return {**load, "rss_mb_before": before, "rss_mb_after": _workers_rss(process.pid)}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def through_sagemaker(model: Path, body: bytes, seconds: float) -> dict[str, Any]:
    """200 threads calling InvokeEndpoint on a local serverless endpoint (MaxConcurrency 200)."""
    import boto3

    from localaws.runtime import LocalAWS

    with LocalAWS(cold_start_delay=0.0) as aws:
        s3, sm = boto3.client("s3"), boto3.client("sagemaker")
        s3.create_bucket(Bucket="bench")
        s3.upload_file(str(model), "bench", "model.tar.gz")
        sm.create_model(ModelName="m", ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
                        PrimaryContainer={"Image": "sklearn",
                                          "ModelDataUrl": "s3://bench/model.tar.gz"})
        sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": "m",
            "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": CONCURRENCY}}])
        sm.create_endpoint(EndpointName="e", EndpointConfigName="c")
        while sm.describe_endpoint(EndpointName="e")["EndpointStatus"] == "Creating":
            time.sleep(0.1)
        runtime = boto3.client("sagemaker-runtime")
        runtime.invoke_endpoint(EndpointName="e", Body=body, ContentType="application/json")
        server = aws.sagemaker.endpoints["e"].server.process.pid
        before = _workers_rss(server)
        latencies: list[float] = []
        errors: list[str] = []
        deadline = time.monotonic() + seconds
        barrier = threading.Barrier(CONCURRENCY)

        def client() -> None:
            own = boto3.client("sagemaker-runtime")
            barrier.wait()
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    own.invoke_endpoint(EndpointName="e", Body=body,
                                        ContentType="application/json")["Body"].read()
                except Exception as err:  # every failure counted, by its name
                    errors.append(getattr(err, "response", {}).get("Error", {}).get(
                        "Code", type(err).__name__))
                    continue
                latencies.append(time.perf_counter() - started)

        threads = [threading.Thread(target=client) for _ in range(CONCURRENCY)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        ms = np.array(latencies) * 1000
        return {"requests": len(latencies), "errors": len(errors),
                "error_codes": sorted(set(errors)), "seconds": round(elapsed, 1),
                "requests_per_second": round(len(latencies) / elapsed, 1),
                "latency_ms_p50": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
                "latency_ms_p99": round(float(np.percentile(ms, 99)), 1) if len(ms) else None,
                "rss_mb_before": before, "rss_mb_after": _workers_rss(server)}


def soak(model: Path, body: bytes, seconds: float, every: float = 30.0) -> list[dict]:
    """Load for `seconds`, worker memory sampled every `every` seconds."""
    process, port = serve(model, OUT / "served_load")
    samples = []
    try:
        asyncio.run(_load(port, body, 50, 5))
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < seconds:
            load = asyncio.run(_load(port, body, 10**9, min(every, seconds - elapsed)))
            samples.append({"at_s": round(time.monotonic() - started),
                            "requests_per_second": load["requests_per_second"],
                            "errors": load["errors"], "rss_mb": _workers_rss(process.pid)})
            print(f"  soak {samples[-1]}", flush=True)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    return samples


def profile(model: Path, body: bytes, top: int = 8) -> list[tuple[str, float]]:
    """Where one recommendations request's time goes, in process: (function, ms per request)
    by own time, over 200 requests."""
    from inference_code import inference
    from training import artifact

    loaded = inference.model_fn(str(artifact.extract(model, OUT / "load_inproc")))
    text = body.decode()

    def one() -> None:
        inference.output_fn(inference.predict_fn(inference.input_fn(text, "application/json"),
                                                 loaded), "application/json")

    for _ in range(5):
        one()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(200):
        one()
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows = sorted(((f"{Path(file).name}:{name}", total * 1000 / 200)
                   for (file, _, name), (_, _, total, _, _) in stats.stats.items()),
                  key=lambda r: -r[1])
    whole = sum(ms for _, ms in rows)
    return [("whole request (sum of own times)", whole), *rows[:top]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load")
    parser.add_argument("--seconds", type=positive(float), default=60.0)
    parser.add_argument("--soak", type=float, default=0.0, help="soak seconds (0: none)")
    args = parser.parse_args(argv)
    model = OUT / "ours" / "model.tar.gz"
    if not model.exists():
        from benchmarks import model_vs_seed

        model_vs_seed.main([])
    results: dict[str, Any] = {}
    for target, run in (("calltime serve", direct), ("local SageMaker", through_sagemaker)):
        for label, body in requests().items():
            print(f"{target}: {label}, {CONCURRENCY} clients, {args.seconds:.0f} s ...",
                  flush=True)
            results[f"{target} | {label}"] = run(model, body, args.seconds)
    recommendations = requests()["recommendations (3 contacts x 50 calls)"]
    results["profile_ms_per_request"] = profile(model, recommendations)
    if args.soak:
        print(f"soak: calltime serve, recommendations, {args.soak:.0f} s ...", flush=True)
        results["soak"] = soak(model, recommendations, args.soak)
    (OUT / "load_results.json").write_text(json.dumps(results, indent=2))
    print(f"\n{CONCURRENCY} concurrent clients on this machine (client and server share its "
          f"{os.cpu_count()} cores), {args.seconds:.0f} s each\n")
    print(f"{'target | request':66} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>8}   "
          "worker RSS MB before -> after")
    for name, r in results.items():
        if " | " not in name:
            continue
        print(f"{name:66} {r['requests_per_second']:>8} {r['latency_ms_p50']!s:>8} "
              f"{r['latency_ms_p99']!s:>8} {r['errors']:>8}   {r['rss_mb_before']} -> "
              f"{r['rss_mb_after']}")
    direct_rec = results["calltime serve | recommendations (3 contacts x 50 calls)"]
    print("\nWhere a recommendations request's time goes (in process, ms per request, own time):")
    for name, ms in results["profile_ms_per_request"]:
        print(f"  {ms:8.2f}  {name}")
    if direct_rec["requests_per_second"]:
        print(f"\nLittle's law: {CONCURRENCY} requests in flight / "
              f"{direct_rec['requests_per_second']} req/s = "
              f"{CONCURRENCY / direct_rec['requests_per_second'] * 1000:.0f} ms each, against "
              f"p50 {direct_rec['latency_ms_p50']} ms measured: the clients wait in the queue, "
              "for the server's CPU time per request.")
    if args.soak:
        first, last = results["soak"][0], results["soak"][-1]
        print(f"\nsoak: worker RSS {first['rss_mb']} MB at {first['at_s']} s -> "
              f"{last['rss_mb']} MB at {last['at_s']} s; errors "
              f"{sum(s['errors'] for s in results['soak'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
