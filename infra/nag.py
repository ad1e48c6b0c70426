"""cdk-nag (AwsSolutions) acknowledgements, each with the reason it is true for this system."""

from __future__ import annotations

import json

import aws_cdk as cdk
from constructs import IConstruct

PLUGIN = "AwsSolutions"


def acknowledge(scope: IConstruct, reason: str, *rule_ids: str) -> None:
    """Acknowledge findings (`AwsSolutions-IAM5[Resource::*]` or a whole rule) under scope.

    Ids carry the plugin prefix the validation report asks for (`AwsSolutions::...`)."""
    cdk.Validations.of(scope).acknowledge(
        *[cdk.Acknowledgment(id=f"{PLUGIN}::{rule_id}", reason=reason) for rule_id in rule_ids])


def _render(value: object) -> str:
    """A resolved CloudFormation value as cdk-nag prints it in finding ids."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return f"<{arg}>"
        if key == "Fn::GetAtt":
            return f"<{arg[0]}.{arg[1]}>"
        if key == "Fn::Join":
            return arg[0].join(_render(part) for part in arg[1])
        if key.startswith("Fn::"):  # other intrinsics appear in the id as compact JSON
            return json.dumps(value, separators=(",", ":"))
    raise ValueError(f"cannot render {value!r} as a cdk-nag finding")


def wildcard(scope: IConstruct, resource: object) -> str:
    """The AwsSolutions-IAM5 finding id for a wildcard resource (an ARN string or token, or
    its resolved CloudFormation value)."""
    return f"AwsSolutions-IAM5[Resource::{_render(cdk.Stack.of(scope).resolve(resource))}]"

