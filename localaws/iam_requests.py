"""Which IAM request(s) AWS authorizes for one API call: action, resource ARN, condition keys.

From the Service Authorization Reference (actions, resource types and condition keys for S3,
SageMaker, SSM, SNS, CloudWatch, Lambda, Step Functions). Only the operations the local runtime
serves to a step are listed; any other operation is refused with a message naming it, so a new
call is mapped here (and checked against its policy) before a step may rely on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

Context = dict[str, str | list[str]]
Asked = tuple[str, str, Context]  # (action, resource, condition keys)


class UnmappedOperation(LookupError):
    """The local IAM does not know what the call needs; the message names the operation."""


def _s3_object(params: dict[str, Any]) -> str:
    return f"arn:aws:s3:::{params['Bucket']}/{params['Key']}"


def _s3(operation: str, params: dict[str, Any], region: str, account: str) -> list[Asked]:
    bucket = f"arn:aws:s3:::{params.get('Bucket', '')}"
    versioned = "Version" if params.get("VersionId") else ""
    by_object = {"GetObject": f"s3:GetObject{versioned}", "HeadObject": f"s3:GetObject{versioned}",
                 "PutObject": "s3:PutObject", "CreateMultipartUpload": "s3:PutObject",
                 "UploadPart": "s3:PutObject", "CompleteMultipartUpload": "s3:PutObject",
                 "AbortMultipartUpload": "s3:AbortMultipartUpload",
                 "DeleteObject": f"s3:DeleteObject{versioned}",
                 "GetObjectTagging": "s3:GetObjectTagging"}
    if operation == "GetObjectTagging":
        by_object[operation] = f"s3:GetObject{versioned}Tagging"
    if operation in by_object:
        asked = [(by_object[operation], _s3_object(params), {})]
        if operation == "PutObject" and params.get("Tagging"):
            asked.append(("s3:PutObjectTagging", _s3_object(params), {}))
        return asked
    # A listing without a Prefix has no s3:prefix key in its request context.
    prefix = {"s3:prefix": params["Prefix"]} if "Prefix" in params else {}
    if operation in ("ListObjectsV2", "ListObjects"):
        return [("s3:ListBucket", bucket, prefix)]
    if operation == "ListObjectVersions":
        return [("s3:ListBucketVersions", bucket, prefix)]
    if operation == "HeadBucket":
        return [("s3:ListBucket", bucket, {})]
    if operation == "CopyObject":
        source = params["CopySource"]
        if isinstance(source, dict):
            source_version = source.get("VersionId")
            source = f"{source['Bucket']}/{source['Key']}"
        else:
            source, _, query = source.partition("?")
            source_version = "versionId=" in query
        read = "s3:GetObjectVersion" if source_version else "s3:GetObject"
        return [("s3:PutObject", _s3_object(params), {}),
                (read, f"arn:aws:s3:::{unquote(source.lstrip('/'))}", {})]
    if operation == "DeleteObjects":
        return [("s3:DeleteObjectVersion" if o.get("VersionId") else "s3:DeleteObject",
                 f"arn:aws:s3:::{params['Bucket']}/{o['Key']}", {})
                for o in params["Delete"]["Objects"]]
    raise UnmappedOperation(f"s3:{operation}")


_SAGEMAKER_NAMES = (("EndpointName", "endpoint"), ("EndpointConfigName", "endpoint-config"),
                    ("ModelName", "model"))


def _sagemaker(operation: str, params: dict[str, Any], region: str, account: str
               ) -> list[Asked]:
    action = f"sagemaker:{operation}"
    if operation.startswith("List"):
        return [(action, "*", {})]
    arns = [f"arn:aws:sagemaker:{region}:{account}:{kind}/{params[member].lower()}"
            for member, kind in _SAGEMAKER_NAMES if member in params]
    if not arns:
        raise UnmappedOperation(f"sagemaker:{operation}")
    if operation == "InvokeEndpoint":
        return [(action, arns[0], {})]
    asked: list[Asked] = [(action, arn, {}) for arn in arns]
    if params.get("Tags"):  # creating with tags also needs AddTags on what is created
        asked.append(("sagemaker:AddTags", arns[0], {}))
    if params.get("ExecutionRoleArn"):
        asked.append(("iam:PassRole", params["ExecutionRoleArn"],
                      {"iam:PassedToService": "sagemaker.amazonaws.com"}))
    return asked


def _ssm(operation: str, params: dict[str, Any], region: str, account: str) -> list[Asked]:
    if "Name" not in params:
        raise UnmappedOperation(f"ssm:{operation}")
    if params["Name"].startswith("arn:"):
        return [(f"ssm:{operation}", params["Name"], {})]
    name = params["Name"].lstrip("/")
    return [(f"ssm:{operation}", f"arn:aws:ssm:{region}:{account}:parameter/{name}", {})]


def _sns(operation: str, params: dict[str, Any], region: str, account: str) -> list[Asked]:
    if operation != "Publish":
        raise UnmappedOperation(f"sns:{operation}")
    return [("sns:Publish", params.get("TopicArn") or params["TargetArn"], {})]


def _cloudwatch(operation: str, params: dict[str, Any], region: str, account: str
                ) -> list[Asked]:
    context: Context = {"cloudwatch:namespace": params["Namespace"]} if "Namespace" in params \
        else {}
    return [(f"cloudwatch:{operation}", "*", context)]


def _lambda(operation: str, params: dict[str, Any], region: str, account: str) -> list[Asked]:
    if operation != "Invoke":
        raise UnmappedOperation(f"lambda:{operation}")
    name = params["FunctionName"]
    arn = name if name.startswith("arn:") else \
        f"arn:aws:lambda:{region}:{account}:function:{name}"
    return [("lambda:InvokeFunction", arn, {})]


def _states(operation: str, params: dict[str, Any], region: str, account: str) -> list[Asked]:
    arn = params.get("executionArn") or params.get("stateMachineArn")
    if not arn:
        raise UnmappedOperation(f"states:{operation}")
    return [(f"states:{operation}", arn, {})]


_SERVICES: dict[str, Callable[[str, dict[str, Any], str, str], list[Asked]]] = {
    "s3": _s3, "sagemaker": _sagemaker, "sagemaker-runtime": _sagemaker, "ssm": _ssm,
    "sns": _sns, "cloudwatch": _cloudwatch, "lambda": _lambda, "sfn": _states,
}


def asked_for(service: str, operation: str, params: dict[str, Any], region: str,
              account: str) -> list[Asked]:
    """The IAM requests one call makes. Every call is over TLS (boto3 uses https), so
    `aws:SecureTransport` is true in each."""
    if service not in _SERVICES:
        raise UnmappedOperation(f"{service}:{operation}")
    return [(action, resource, {"aws:SecureTransport": "true", **context})
            for action, resource, context in _SERVICES[service](operation, params, region,
                                                                 account)]
