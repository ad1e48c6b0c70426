"""What S3 Lifecycle does to a key of a versioned bucket, read from a template's rules by S3's
documented semantics (Amazon S3 User Guide, "Lifecycle configuration elements" and "Expiring
objects"; API LifecycleExpiration, NoncurrentVersionExpiration):

- a rule applies to a key its filter's prefix matches (no prefix: every key), when Enabled;
- Expiration Days: the *current* version expires that many days after it was written; in a
  versioned bucket S3 then adds a delete marker, and the version becomes noncurrent;
- NoncurrentVersionExpiration NoncurrentDays: a noncurrent version is permanently deleted that
  many days after it became noncurrent, but with NewerNoncurrentVersions N only once more than
  N newer noncurrent versions of the key exist (with fewer, it is kept for ever);
- a delete marker with no version left (an "expired object delete marker") is removed by a rule
  with ExpiredObjectDeleteMarker, or by a rule with Expiration Days ("Expiring objects": S3
  removes the expired object delete marker);
- AbortIncompleteMultipartUpload DaysAfterInitiation: an upload never completed is aborted;
- where rules overlap, the shortest expiration wins ("permanent deletion ... the shorter
  expiration is honored").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Rule = dict[str, Any]


def rules_of(bucket: dict[str, Any]) -> list[Rule]:
    """The enabled rules of an AWS::S3::Bucket resource."""
    config = bucket["Properties"].get("LifecycleConfiguration", {})
    return [r for r in config.get("Rules", []) if r.get("Status") == "Enabled"]


def _prefix(rule: Rule) -> str:
    return rule.get("Prefix") or rule.get("Filter", {}).get("Prefix") or ""


def _matching(rules: list[Rule], key: str) -> list[Rule]:
    return [r for r in rules if key.startswith(_prefix(r))]


def _least(values: list[int]) -> int | None:
    return min(values) if values else None


def current_expires(rules: list[Rule], key: str) -> int | None:
    """Days after it is written that the key's current version expires; None: never."""
    return _least([r["ExpirationInDays"] for r in _matching(rules, key)
                   if r.get("ExpirationInDays")])


def noncurrent_expires(rules: list[Rule], key: str, newer_noncurrent: int) -> int | None:
    """Days after it became noncurrent that a noncurrent version with `newer_noncurrent` newer
    noncurrent versions is deleted; None: never."""
    days = []
    for rule in _matching(rules, key):
        expiration = rule.get("NoncurrentVersionExpiration")
        if not expiration:
            continue
        if newer_noncurrent > expiration.get("NewerNoncurrentVersions", -1):
            days.append(expiration["NoncurrentDays"])
    return _least(days)


def markers_removed(rules: list[Rule], key: str) -> bool:
    """Whether a delete marker left with no version of the key is removed."""
    return any(r.get("ExpiredObjectDeleteMarker") or r.get("ExpirationInDays")
               for r in _matching(rules, key))


def uploads_aborted(rules: list[Rule], key: str) -> int | None:
    return _least([r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
                   for r in _matching(rules, key) if r.get("AbortIncompleteMultipartUpload")])


# Lifecycle actions run about once a day: a step of the "gone within" sums.
LIFECYCLE_PASS_DAYS = 1


@dataclass(frozen=True)
class Gone:
    """How a key class leaves the bucket; None in a field: never."""

    deleted_by_run: int | None  # days until nothing is left of a key a run deleted
    left_behind: int | None  # ... of a key a run wrote and never deleted
    noncurrent: int | None  # days a replaced (or deleted) version of a kept key remains
    uploads: int | None  # days an incomplete multipart upload under the key remains


def gone(rules: list[Rule], key: str) -> Gone:
    markers = markers_removed(rules, key)

    def after_delete() -> int | None:  # a delete marker over one noncurrent version
        days = noncurrent_expires(rules, key, newer_noncurrent=0)
        return None if days is None or not markers else days + LIFECYCLE_PASS_DAYS

    deleted = after_delete()
    current = current_expires(rules, key)
    left = None if current is None or deleted is None else current + deleted
    return Gone(deleted, left, noncurrent_expires(rules, key, newer_noncurrent=0),
                uploads_aborted(rules, key))
