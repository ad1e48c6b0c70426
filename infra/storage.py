"""The models bucket: artifacts, staging, call logs (`data/calls/`), run lock, notifications.

The bucket is versioned, so a key's every version and every delete marker stays until a
lifecycle rule removes it: each class of key a run writes has its fate here (`KEY_CLASSES`),
the lifecycle rules are made from it, and docs/operating.md shows it (tests read the synthesized
rules with S3's documented semantics: tests/support/s3_lifecycle.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.nag import acknowledge
from infra.settings import DeploySettings
from pipeline_lambdas import contract as c

# A version replaced or deleted (history rewrites, lock releases, a call log replaced, a
# published version deleted by hand) can be recovered this long.
NONCURRENT_DAYS = 30
# A transient key a run deleted: its noncurrent version goes a day later, then its marker.
TRANSIENT_NONCURRENT_DAYS = 1
INCOMPLETE_UPLOAD_DAYS = 1  # no upload of a run outlives its function (15 minutes)


@dataclass(frozen=True)
class KeyClass:
    """A class of key in the models bucket and what becomes of it."""

    keys: str  # the keys, as a pattern
    example: str  # one such key (what the tests evaluate the rules on)
    written_by: str
    expires_days: int | None  # transient: its current version expires after; None: kept
    billion_rows: str  # what a billion-row run leaves there


KEY_CLASSES = (
    KeyClass(f"{c.WORK_PREFIX}<execution>/", f"{c.WORK_PREFIX}run-1/buckets/00000.parquet",
             "the scale-out steps (pieces, merged buckets, call times, counts, sample, "
             "rejects, summaries) and a failed map item's record", 7,
             "two to three times the log while it runs; TrainOnSample deletes it, a failed "
             "run's expires"),
    KeyClass(f"{c.STAGING_PREFIX}<version>/", f"{c.STAGING_PREFIX}v1/model.tar.gz",
             "Train / TrainOnSample (the model, reports, rejects) before Package publishes "
             "them; a refused log's rejects", 30,
             "one copy of the version's files (rejects.csv the largest)"),
    KeyClass(f"{c.NOTIFICATIONS_PREFIX}<execution>/<outcome>.json",
             f"{c.NOTIFICATIONS_PREFIX}run-1/deployed.json",
             "Notify (the once-only marker, holding the message sent)", 90, "a few KB"),
    KeyClass(f"{c.MODELS_PREFIX}/<version>/", f"{c.MODELS_PREFIX}/v1/model.tar.gz",
             "Package (published versions: artifact, metadata, metrics, report, rejects)",
             None, "the version's files: kept, as every published version is"),
    KeyClass(f"{c.MODELS_PREFIX}/history.json, history.html",
             c.history_key(c.HISTORY_FILE), "Notify, rewritten every run", None,
             "a few KB a run"),
    KeyClass(c.LOCK_KEY, c.LOCK_KEY, "AcquireLock / ReleaseLock, rewritten every run", None,
             "under 1 KB"),
    KeyClass(f"{c.DATA_PREFIX}", f"{c.DEFAULT_CALLS_PREFIX}calls.parquet",
             "you (the call logs every run reads)", None, "the log itself: yours to delete"),
)


class ModelStorage(Construct):
    """Uses `ml_models_bucket` when set (the stack then changes nothing about it), else creates
    an encrypted, versioned, private, SSL-only bucket with access logs and a lifecycle."""

    def __init__(self, scope: Construct, construct_id: str, settings: DeploySettings) -> None:
        super().__init__(scope, construct_id)
        self.created = settings.ml_models_bucket is None
        if not self.created:
            self.bucket = s3.Bucket.from_bucket_name(self, "Models", settings.ml_models_bucket)
            return
        self.access_logs = s3.Bucket(
            self, "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs",
                                              expiration=cdk.Duration.days(365))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge(self.access_logs, "This is the access-log bucket of the models bucket; logging "
                    "its own access would log the log writes themselves.", "AwsSolutions-S1")
        self.bucket = s3.Bucket(
            self, "Models",
            encryption=s3.BucketEncryption.S3_MANAGED,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="models-bucket/",
            lifecycle_rules=lifecycle_rules(),
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    def arn(self, key_pattern: str) -> str:
        return self.bucket.arn_for_objects(key_pattern)


def lifecycle_rules() -> list[s3.LifecycleRule]:
    """Every transient class expires and leaves nothing behind; every replaced or deleted
    version goes after NONCURRENT_DAYS, every delete marker once no version is left behind it,
    every incomplete upload after a day."""
    rules = [s3.LifecycleRule(
        id=f"expire-{k.keys.split('/')[0]}", prefix=k.keys.split("<")[0],
        expiration=cdk.Duration.days(k.expires_days),
        noncurrent_version_expiration=cdk.Duration.days(TRANSIENT_NONCURRENT_DAYS))
        for k in KEY_CLASSES if k.expires_days is not None]
    return [*rules,
            s3.LifecycleRule(id="expire-noncurrent-versions",
                             noncurrent_version_expiration=cdk.Duration.days(NONCURRENT_DAYS)),
            s3.LifecycleRule(id="remove-expired-delete-markers",
                             expired_object_delete_marker=True),
            s3.LifecycleRule(id="abort-incomplete-uploads",
                             abort_incomplete_multipart_upload_after=cdk.Duration.days(
                                 INCOMPLETE_UPLOAD_DAYS))]
