"""Each API call asks IAM for what the Service Authorization Reference says it needs."""

from __future__ import annotations

import pytest

from localaws.iam_requests import UnmappedOperation, asked_for


def _asked(service: str, operation: str, **params) -> list[tuple[str, str]]:
    return [(action, resource) for action, resource, _ in
            asked_for(service, operation, params, "il-central-1", "123456789012")]


def test_s3_object_calls_name_the_object_and_versions_ask_for_version_actions() -> None:
    assert _asked("s3", "HeadObject", Bucket="b", Key="k") == [("s3:GetObject",
                                                                "arn:aws:s3:::b/k")]
    assert _asked("s3", "GetObject", Bucket="b", Key="k", VersionId="v")[0][0] == \
        "s3:GetObjectVersion"
    assert _asked("s3", "PutObject", Bucket="b", Key="k", Tagging="a=b") == [
        ("s3:PutObject", "arn:aws:s3:::b/k"), ("s3:PutObjectTagging", "arn:aws:s3:::b/k")]
    assert _asked("s3", "CopyObject", Bucket="b", Key="to",
                  CopySource={"Bucket": "a", "Key": "from x", "VersionId": "1"}) == [
        ("s3:PutObject", "arn:aws:s3:::b/to"), ("s3:GetObjectVersion", "arn:aws:s3:::a/from x")]
    assert _asked("s3", "CopyObject", Bucket="b", Key="to", CopySource="a/from%20x")[1] == \
        ("s3:GetObject", "arn:aws:s3:::a/from x")


def test_listing_without_a_prefix_has_no_prefix_key() -> None:
    (_, _, context), = asked_for("s3", "ListObjectsV2", {"Bucket": "b"}, "r", "1")
    assert "s3:prefix" not in context
    (_, _, context), = asked_for("s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "data/"},
                                 "r", "1")
    assert context["s3:prefix"] == "data/"


def test_sagemaker_creates_ask_for_every_resource_named_and_pass_role() -> None:
    asked = asked_for("sagemaker", "CreateModel",
                      {"ModelName": "Calltime-V1", "ExecutionRoleArn": "arn:aws:iam::1:role/x",
                       "Tags": [{"Key": "a", "Value": "b"}]}, "il-central-1", "1")
    assert [(a, r) for a, r, _ in asked] == [
        ("sagemaker:CreateModel", "arn:aws:sagemaker:il-central-1:1:model/calltime-v1"),
        ("sagemaker:AddTags", "arn:aws:sagemaker:il-central-1:1:model/calltime-v1"),
        ("iam:PassRole", "arn:aws:iam::1:role/x")]
    assert asked[2][2]["iam:PassedToService"] == "sagemaker.amazonaws.com"
    assert {r for _, r in _asked("sagemaker", "UpdateEndpoint", EndpointName="e",
                                 EndpointConfigName="c")} == {
        "arn:aws:sagemaker:il-central-1:123456789012:endpoint/e",
        "arn:aws:sagemaker:il-central-1:123456789012:endpoint-config/c"}


def test_ssm_names_and_arns_and_unknown_calls_are_refused() -> None:
    arn = "arn:aws:ssm:il-central-1:123456789012:parameter/calltime/dev/live-model"
    assert _asked("ssm", "PutParameter", Name="/calltime/dev/live-model") == [
        ("ssm:PutParameter", arn)]
    assert _asked("ssm", "GetParameter", Name=arn) == [("ssm:GetParameter", arn)]
    with pytest.raises(UnmappedOperation, match="sqs:CreateQueue"):
        asked_for("sqs", "CreateQueue", {"QueueName": "q"}, "r", "1")
