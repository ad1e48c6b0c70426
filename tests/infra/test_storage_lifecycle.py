"""The models bucket keeps nothing it was not meant to: every class of key a run writes leaves
the (versioned) bucket as docs/operating.md's storage table says, read from the synthesized
lifecycle rules with S3's documented semantics (tests/support/s3_lifecycle.py)."""

from __future__ import annotations

import pytest

from infra.storage import KEY_CLASSES
from tests.support.s3_lifecycle import Gone, current_expires, gone, rules_of

# docs/operating.md's table ("What a run leaves in the bucket"): days until nothing is left of a
# key, after a run deleted it / when a run left it; days a replaced or deleted version of a kept key
# remains; days an incomplete upload remains. None: kept for ever.
STATED = {
    "work/": Gone(deleted_by_run=2, left_behind=9, noncurrent=1, uploads=1),
    "staging/": Gone(deleted_by_run=2, left_behind=32, noncurrent=1, uploads=1),
    "notifications/": Gone(deleted_by_run=2, left_behind=92, noncurrent=1, uploads=1),
    "models/optimal-call-time/v1/": Gone(deleted_by_run=31, left_behind=None, noncurrent=30,
                                         uploads=1),
    "models/optimal-call-time/history.json": Gone(deleted_by_run=31, left_behind=None,
                                                  noncurrent=30, uploads=1),
    "locks/endpoint.lock": Gone(deleted_by_run=31, left_behind=None, noncurrent=30, uploads=1),
    "data/calls/": Gone(deleted_by_run=31, left_behind=None, noncurrent=30, uploads=1),
}


@pytest.fixture
def rules(synthesized) -> list[dict]:
    _, _, template = synthesized
    (bucket,) = [r for logical_id, r in template.find_resources("AWS::S3::Bucket").items()
                 if logical_id.startswith("StorageModels")]
    return rules_of(bucket)


def test_every_class_of_key_leaves_the_bucket_as_stated(rules) -> None:
    assert {next(p for p in STATED if k.example.startswith(p)) for k in KEY_CLASSES} == \
        set(STATED)  # every class the code knows has its stated fate
    for prefix, stated in STATED.items():
        key = next(k.example for k in KEY_CLASSES if k.example.startswith(prefix))
        assert gone(rules, key) == stated, prefix


def test_a_kept_key_is_never_expired_and_a_transient_one_always_is(rules) -> None:
    for k in KEY_CLASSES:
        assert (current_expires(rules, k.example) is None) == (k.expires_days is None), k.keys


def test_a_key_written_once_and_deleted_is_kept_for_ever_under_newer_noncurrent_versions(
) -> None:
    """The rule this bucket had: noncurrent versions expire only once 3 newer noncurrent
    versions exist, which a key written once never gets."""
    old = [{"Status": "Enabled", "NoncurrentVersionExpiration": {
        "NoncurrentDays": 90, "NewerNoncurrentVersions": 3}}]
    assert gone(old, "work/run-1/buckets/00000.parquet").deleted_by_run is None


def test_the_docs_state_each_fate_as_the_rules_give_it() -> None:
    """docs/operating.md's table says, for each class, the days the rules give (STATED above)."""
    from pathlib import Path

    table = (Path(__file__).resolve().parents[2] / "docs" / "operating.md").read_text().split(
        "## What a run leaves in the bucket", 1)[1].split("\n\n|", 1)[1].split("\n\n", 1)[0]
    rows = {line.split("|")[1].strip(): line for line in table.splitlines()[2:]}
    for keys, prefix in (("`work/<execution>/`", "work/"), ("`staging/<version>/`", "staging/"),
                         ("`notifications/<execution>/<outcome>.json`", "notifications/")):
        stated = STATED[prefix]
        assert f"gone within {stated.left_behind} days" in rows[keys], keys
    assert "gone within 2 days" in rows["`work/<execution>/`"]  # deleted by TrainOnSample
    for keys in ("`models/optimal-call-time/<version>/`", "`locks/endpoint.lock`", "`data/`"):
        assert "30 days" in rows[keys] and STATED[
            next(p for p in STATED if p.startswith(keys.strip("`").split("<")[0].split(
                ",")[0]))].noncurrent == 30, keys
