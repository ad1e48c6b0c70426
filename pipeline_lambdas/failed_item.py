"""NameFailedItem: which Distributed Map item failed and why, from the record it left.

Step Functions fails a Distributed Map whose item failed with
`States.ExceedToleratedFailureThreshold` and a cause that names no item. So each failed child
writes its input and its error to <work prefix>failures/<Map>/<item>.json before it fails (the
state machine's own S3 call: a worker killed for memory cannot). This step reads those records
and returns the run's error with the item named: the item's own error name, and a cause that
says which Map, which item (a part's index and URI, a bucket's number) and what it said, so the
summary, the notification, `calltime runs show` and the history page all say it.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline_lambdas import work_area as w
from pipeline_lambdas.clients import client
from pipeline_lambdas.contract import FAILURES_DIR
from pipeline_lambdas.errors import said
from pipeline_lambdas.events import read_field
from pipeline_lambdas.observability import step_handler
from pipeline_lambdas.settings import PipelineSettings

NAMED_ITEMS = 5  # items named beyond the first when several failed


def item_name(record: dict[str, Any]) -> str:
    """'part 3 (s3://.../part-3.parquet)' or 'bucket 17': what the Map's item was."""
    part = record.get("part")
    if isinstance(part, dict):
        return f"part {part.get('index')} ({part.get('uri')})"
    if "bucket" in record:
        return f"bucket {record['bucket']}"
    return json.dumps({k: v for k, v in record.items() if k != "failure"})[:200]


def _item_order(key: str) -> tuple[str, int, str]:
    """By Map, then by item number (part 3 before part 10)."""
    folder, _, name = key.rpartition("/")
    item = name.removesuffix(".json")
    return folder, int(item) if item.isdigit() else -1, item


def name_failure(s3, bucket: str, work: str, error: dict[str, Any]) -> dict[str, str]:
    """The run's error, named after the first failed item's record (in key order: Map, then
    item); the Map's own error when no item left one."""
    prefix = f"{work}{FAILURES_DIR}"
    keys = sorted(w.keys(s3, bucket, prefix), key=_item_order)
    if not keys:
        return {"Error": str(error.get("Error", "")), "Cause": str(error.get("Cause", ""))}
    records = [(key.removeprefix(prefix).split("/", 1)[0], w.get_json(s3, bucket, key))
               for key in keys[:1 + NAMED_ITEMS]]
    state, first = records[0]
    failure = first.get("failure") or {}
    cause = (f"{state}: {item_name(first)} failed with {failure.get('Error', '?')}: "
             f"{said(failure.get('Cause'))}")
    if len(keys) > 1:
        others = ", ".join(f"{s} {item_name(r)}" for s, r in records[1:])
        more = len(keys) - len(records)
        cause += (f" (and {len(keys) - 1} more: {others}" + (f" and {more} others" if more
                                                              else "") + ")")
    if error.get("Error"):
        cause += f" [{error['Error']}]"
    return {"Error": str(failure.get("Error") or error.get("Error", "")), "Cause": cause}


@step_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return name_failure(client("s3"), PipelineSettings.from_env().models_bucket,
                        read_field(event, "work_prefix", str), read_field(event, "error", dict))
