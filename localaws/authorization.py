"""Every AWS call a local step makes is allowed or denied by its role, as in AWS.

The synthesized template's roles, their policies (inline, `AWS::IAM::Policy`, the template's own
managed policies) and the resource policies (bucket and topic policies) are read into a
`Policies`; each call is turned into the IAM request(s) AWS would authorize (action, resource
ARN, condition keys: `s3:prefix`, `iam:PassedToService`, `aws:SecureTransport`,
`cloudwatch:namespace`, ...) and evaluated by `localaws.iam`. A denied call fails with the error
code, HTTP status and message shape of the service that denies it.

Who is calling is per thread (`acting_as`): a Lambda step runs as its function's role, Step
Functions (moto's interpreter, whose clients use the access key "ak") as the state machine's
role, the local SageMaker as the model's execution role while it fetches the artifact. The
harness itself (tests, the demo putting its data) is the account's administrator.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from localaws.iam import Decision, PolicyError, Principal, Request, evaluate, statements

_local = threading.local()
STEP_FUNCTIONS_ACCESS_KEY = "ak"  # moto's ASL interpreter signs its clients with it


def current() -> Principal | None:
    return getattr(_local, "principal", None)


@contextlib.contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    """Calls made by this thread inside the block are authorized as `principal`."""
    previous = current()
    _local.principal = principal
    try:
        yield
    finally:
        _local.principal = previous


def role_session(role_arn: str, session: str) -> Principal:
    """The principal of a role assumed by a service: its assumed-role session ARN."""
    account, name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
    return Principal(f"arn:aws:sts::{account}:assumed-role/{name}/{session}", account=account)


@dataclass
class Policies:
    """Identity-based statements per role name; resource policies per bucket and topic."""

    roles: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    buckets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    topics: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def identity(self, principal: Principal) -> list[dict[str, Any]]:
        if "assumed-role/" not in principal.arn:
            return []
        return self.roles.get(principal.arn.split("/")[1], [])

    def resource(self, arn: str) -> list[dict[str, Any]]:
        if arn.startswith("arn:aws:s3:::"):
            return self.buckets.get(arn.removeprefix("arn:aws:s3:::").split("/")[0], [])
        return self.topics.get(arn, [])

    def decide(self, request: Request) -> Decision:
        return evaluate(request, self.identity(request.principal), self.resource(request.resource))


def read_policies(template: dict[str, Any], resolve: Any, physical: dict[str, str]) -> Policies:
    """The template's policies, resolved (`resolve` resolves intrinsics; `physical` maps
    logical ids to names)."""
    policies = Policies()
    resources = template.get("Resources", {})
    managed: dict[str, list[dict[str, Any]]] = {}
    for logical_id, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::IAM::Role":
            role = policies.roles.setdefault(physical[logical_id], [])
            for inline in props.get("Policies", []):
                role.extend(statements(resolve(inline["PolicyDocument"])))
        elif kind == "AWS::IAM::ManagedPolicy":
            managed[physical[logical_id]] = statements(resolve(props["PolicyDocument"]))
    for logical_id, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::IAM::Role":
            for arn in resolve(props.get("ManagedPolicyArns", [])):
                if arn not in managed:
                    raise PolicyError(f"role {logical_id}: managed policy {arn} is not in the "
                                      "template; the local IAM cannot read it")
                policies.roles[physical[logical_id]].extend(managed[arn])
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            document = statements(resolve(props["PolicyDocument"]))
            for role in resolve(props.get("Roles", [])):
                policies.roles.setdefault(role, []).extend(document)
        elif kind == "AWS::S3::BucketPolicy":
            policies.buckets.setdefault(resolve(props["Bucket"]), []).extend(
                statements(resolve(props["PolicyDocument"])))
        elif kind == "AWS::SNS::TopicPolicy":
            for topic in resolve(props["Topics"]):
                policies.topics.setdefault(topic, []).extend(
                    statements(resolve(props["PolicyDocument"])))
    return policies
