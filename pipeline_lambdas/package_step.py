"""Step 2 core: publish a staged version under models/optimal-call-time/<version>/, never
overwriting: every object is written with If-None-Match. A retry that finds the same bytes
already published succeeds; different bytes under an existing version raise ArtifactExists.

A run asked to deploy a published version (`deploy_version`, rolling forward or back) trains
nothing: this step finds that version's artifact instead (`find_published`), or raises
VersionNotFound, and the run deploys it as it deploys a new one."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

from inference_code.artifact_layout import ARTIFACT_FILE
from pipeline_lambdas.clients import client
from pipeline_lambdas.contract import staging_prefix, version_prefix
from pipeline_lambdas.errors import ArtifactExists, VersionNotFound
from pipeline_lambdas.events import read_field
from pipeline_lambdas.observability import step_handler
from pipeline_lambdas.settings import PipelineSettings
from training.outputs import OUTPUT_FILES


@dataclass(frozen=True)
class PackageOutput:
    model_version: str
    artifact_uri: str
    sha256: str
    size_bytes: int
    files: list[str]
    already_published: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def publish(s3, settings: PipelineSettings, version: str) -> PackageOutput:
    bucket, source, target = settings.models_bucket, staging_prefix(version), version_prefix(
        version, settings.models_prefix)
    existing = 0
    digests: dict[str, str] = {}
    for name in OUTPUT_FILES:
        data = s3.get_object(Bucket=bucket, Key=source + name)["Body"].read()
        digests[name] = hashlib.sha256(data).hexdigest()
        try:
            s3.put_object(Bucket=bucket, Key=target + name, Body=data, IfNoneMatch="*",
                          Metadata={"sha256": digests[name]})
        except ClientError as err:
            if err.response["Error"]["Code"] != "PreconditionFailed":
                raise
            there = s3.get_object(Bucket=bucket, Key=target + name)["Body"].read()
            if hashlib.sha256(there).hexdigest() != digests[name]:
                raise ArtifactExists(f"s3://{bucket}/{target}{name} already exists with other "
                                     "content; versions are never overwritten") from err
            existing += 1
        if name == ARTIFACT_FILE:
            size = len(data)
    return PackageOutput(version, f"s3://{bucket}/{target}{ARTIFACT_FILE}",
                         digests[ARTIFACT_FILE], size, list(OUTPUT_FILES),
                         already_published=existing == len(OUTPUT_FILES))


def find_published(s3, settings: PipelineSettings, version: str) -> PackageOutput:
    """The published artifact of `version`, as `publish` reported it."""
    bucket, prefix = settings.models_bucket, version_prefix(version, settings.models_prefix)
    try:
        head = s3.head_object(Bucket=bucket, Key=prefix + ARTIFACT_FILE)
    except ClientError as err:
        # 403 is how S3 says "no such key" to a role that may read it but not list the bucket
        # (this one: a ListBucket grant conditioned on s3:prefix would not apply, a HeadObject
        # carries no prefix).
        if err.response["Error"]["Code"] not in ("404", "NoSuchKey", "403", "AccessDenied"):
            raise
        raise VersionNotFound(f"no published model version {version!r}: s3://{bucket}/{prefix}"
                              f"{ARTIFACT_FILE} does not exist (`calltime versions list` shows "
                              "the published ones)") from err
    return PackageOutput(version, f"s3://{bucket}/{prefix}{ARTIFACT_FILE}",
                         head.get("Metadata", {}).get("sha256", ""), head["ContentLength"],
                         list(OUTPUT_FILES), already_published=True)


@step_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = PipelineSettings.from_env()
    version = read_field(event, "model_version", str)
    if read_field(event, "deploy_version", str, ""):
        return find_published(client("s3"), settings, version).to_dict()
    return publish(client("s3"), settings, version).to_dict()
