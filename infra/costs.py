"""What a month of calltime costs, recomputed from the deployment settings.

    python -m infra.costs [--env prod] [--requests 1000000] [--request-ms 20] [--payload-kb 8]

Prices are AWS's published on-demand list prices for us-east-1 (USD) when this was written;
il-central-1 and other regions differ by region, so treat the result as an estimate and check
the pricing pages. Free tiers are ignored.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from infra.settings import DeploySettings, load

PRICE = {
    "serverless_gb_second": 0.00002,  # SageMaker Serverless Inference, per GB-second of memory
    "serverless_data_gb": 0.016,  # SageMaker data processed, per GB in + out
    "lambda_gb_second": 0.0000166667,  # Lambda x86, per GB-second
    "lambda_request": 0.0000002,
    "sfn_transition": 0.000025,  # Step Functions standard, per state transition
    "alarm_metric": 0.10,  # CloudWatch standard alarm, per metric per month
    "dashboard": 3.00,  # CloudWatch dashboard per month (beyond the free three)
    "s3_gb_month": 0.023,
    "ecr_gb_month": 0.10,
    "logs_gb": 0.50,  # CloudWatch Logs ingestion
}
# Six single-metric alarms and two metric-math alarms of three metrics each; a test counts the
# metrics the synthesized alarms watch (tests/infra/test_costs.py), so this follows the template.
ALARM_METRICS = 6 + 3 + 3
TRANSITIONS_PER_RUN = 30  # a deployment run, measured on the local run of the state machine
STEP_SECONDS = 12  # the eleven small steps, about a second each, plus waits in Check


@dataclass(frozen=True)
class Usage:
    requests: int = 1_000_000  # InvokeEndpoint calls per month
    request_ms: float = 20.0  # billed duration per call (about 10 contacts; see make bench)
    payload_kb: float = 8.0  # request + response
    runs: float = 4.3  # retraining runs per month (weekly)
    training_minutes: float = 2.0  # the train step on ~200k calls, measured locally at 18 s
    image_gb: float = 0.6  # the pipeline's container image in ECR
    stored_gb: float = 1.0  # call logs and model versions in S3


def estimate(settings: DeploySettings, usage: Usage) -> dict[str, float]:
    memory_gb = settings.memory_size_mb / 1024
    training_gb = settings.training_memory_mb / 1024
    return {
        f"endpoint compute ({settings.memory_size_mb} MB x {usage.request_ms:g} ms x "
        f"{usage.requests:,} requests)":
            memory_gb * usage.request_ms / 1000 * usage.requests * PRICE["serverless_gb_second"],
        "endpoint data processed":
            usage.payload_kb / 1024 / 1024 * usage.requests * PRICE["serverless_data_gb"],
        f"training Lambda ({settings.training_memory_mb} MB x {usage.training_minutes:g} min x "
        f"{usage.runs:g} runs)":
            training_gb * usage.training_minutes * 60 * usage.runs * PRICE["lambda_gb_second"],
        "other step functions (512 MB)":
            0.5 * STEP_SECONDS * usage.runs * PRICE["lambda_gb_second"]
            + 12 * usage.runs * PRICE["lambda_request"],
        "Step Functions transitions": TRANSITIONS_PER_RUN * usage.runs * PRICE["sfn_transition"],
        f"CloudWatch alarms ({ALARM_METRICS} alarm metrics)": ALARM_METRICS * PRICE["alarm_metric"],
        "CloudWatch dashboard": PRICE["dashboard"],
        "S3 (logs, models)": usage.stored_gb * PRICE["s3_gb_month"],
        "ECR (pipeline image)": usage.image_gb * PRICE["ecr_gb_month"],
        "CloudWatch Logs (pipeline, ~50 MB/run)": 0.05 * usage.runs * PRICE["logs_gb"],
    }


def table(settings: DeploySettings, usage: Usage) -> str:
    rows = estimate(settings, usage)
    width = max(map(len, rows))
    lines = [f"{'item':<{width}}  USD/month", f"{'-' * width}  ---------"]
    lines += [f"{name:<{width}}  {cost:9.2f}" for name, cost in rows.items()]
    lines.append(f"{'total':<{width}}  {sum(rows.values()):9.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="prod")
    parser.add_argument("--requests", type=int, default=Usage.requests)
    parser.add_argument("--request-ms", type=float, default=Usage.request_ms)
    parser.add_argument("--payload-kb", type=float, default=Usage.payload_kb)
    args = parser.parse_args()
    settings = load({"env": args.env})
    print(table(settings, Usage(requests=args.requests, request_ms=args.request_ms,
                                payload_kb=args.payload_kb)))


if __name__ == "__main__":
    main()
