"""The models bucket: artifacts, staging, call logs (`data/calls/`), run lock, notifications."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.nag import acknowledge
from infra.settings import DeploySettings
from pipeline_lambdas.contract import STAGING_PREFIX


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
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-old-noncurrent-versions",
                                 noncurrent_version_expiration=cdk.Duration.days(90),
                                 noncurrent_versions_to_retain=3),
                s3.LifecycleRule(id="abort-incomplete-uploads",
                                 abort_incomplete_multipart_upload_after=cdk.Duration.days(7)),
                s3.LifecycleRule(id="expire-staging", prefix=STAGING_PREFIX,
                                 expiration=cdk.Duration.days(30)),
            ],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    def arn(self, key_pattern: str) -> str:
        return self.bucket.arn_for_objects(key_pattern)
