"""Stand a synthesized CloudFormation template up on the local runtime.

Only what a pipeline run needs is created: S3 buckets and SNS topics in moto, the Lambda
functions as in-process handlers (each function's handler import path is read from the template:
`ImageConfig.Command` for container-image functions, `Handler` for zip functions) with their
environment, memory, timeout and role, and the state machine from its `DefinitionString` and
role. The roles' policies and the bucket and topic policies are read for the local IAM
(`localaws.authorization`). Alarms, schedules and topic subscriptions are created with their
state only (`localaws.monitoring_state`: nothing evaluates or fires them); dashboards and log
groups have no local behaviour and are listed as skipped. Intrinsics (Ref, GetAtt,
Join, Sub, Select, Split, FindInMap and pseudo parameters) are resolved to local values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import boto3

from localaws import monitoring_state
from localaws.authorization import Policies, read_policies


class TemplateError(ValueError):
    """The template uses something the local runtime cannot resolve; the message says what."""


@dataclass
class LocalFunction:
    logical_id: str
    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    memory_mb: int = 128  # CloudFormation's defaults when the template sets none
    timeout_seconds: int = 3
    role_arn: str = ""


@dataclass
class SynthesizedStack:
    """A synthesized stack's template, resolved for the local runtime."""

    name: str
    region: str
    account: str
    physical: dict[str, str] = field(default_factory=dict)
    arns: dict[str, str] = field(default_factory=dict)
    functions: dict[str, LocalFunction] = field(default_factory=dict)
    state_machine_name: str = ""
    definition: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    policies: Policies = field(default_factory=Policies)
    state_machine_role_arn: str = ""

    @property
    def environment(self) -> dict[str, str]:
        """The functions' shared environment (the local runtime runs them in one process)."""
        merged: dict[str, str] = {}
        for function in self.functions.values():
            for key, value in function.environment.items():
                if merged.setdefault(key, value) != value:
                    raise TemplateError(f"functions disagree on {key} ({merged[key]!r} vs "
                                        f"{value!r}); the local runtime shares one environment")
        return merged


def _resource_names(stack: str, resources: dict[str, Any], region: str, account: str
                    ) -> tuple[dict[str, str], dict[str, str]]:
    """Physical ids (what Ref returns) and ARNs, from names in the template or logical ids."""
    physical, arns = {}, {}
    for logical_id, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::S3::Bucket":
            name = props.get("BucketName") or f"{stack}-{logical_id}".lower()[:63]
            physical[logical_id], arns[logical_id] = name, f"arn:aws:s3:::{name}"
        elif kind == "AWS::SNS::Topic":
            name = props.get("TopicName") or f"{stack}-{logical_id}"
            arn = f"arn:aws:sns:{region}:{account}:{name}"
            physical[logical_id], arns[logical_id] = arn, arn
        elif kind == "AWS::IAM::Role":
            name = props.get("RoleName") or f"{stack}-{logical_id}"[:64]
            physical[logical_id] = name
            arns[logical_id] = f"arn:aws:iam::{account}:role/{name}"
        elif kind == "AWS::IAM::ManagedPolicy":
            name = props.get("ManagedPolicyName") or f"{stack}-{logical_id}"
            arns[logical_id] = physical[logical_id] = f"arn:aws:iam::{account}:policy/{name}"
        elif kind == "AWS::Lambda::Function":
            name = props.get("FunctionName") or f"{stack}-{logical_id}"[:64]
            physical[logical_id] = name
            arns[logical_id] = f"arn:aws:lambda:{region}:{account}:function:{name}"
        elif kind == "AWS::StepFunctions::StateMachine":
            name = props.get("StateMachineName") or f"{stack}-{logical_id}"
            arn = f"arn:aws:states:{region}:{account}:stateMachine:{name}"
            physical[logical_id], arns[logical_id] = arn, arn
        elif kind == "AWS::SQS::Queue":
            name = props.get("QueueName") or f"{stack}-{logical_id}"
            physical[logical_id] = f"https://sqs.{region}.amazonaws.com/{account}/{name}"
            arns[logical_id] = f"arn:aws:sqs:{region}:{account}:{name}"
        elif kind == "AWS::Logs::LogGroup":
            name = props.get("LogGroupName") or f"/{stack}/{logical_id}"
            physical[logical_id] = name
            arns[logical_id] = f"arn:aws:logs:{region}:{account}:log-group:{name}:*"
        else:
            physical[logical_id] = f"{stack}-{logical_id}"
    return physical, arns


class Resolver:
    def __init__(self, template: dict[str, Any], stack: SynthesizedStack) -> None:
        self.mappings = template.get("Mappings", {})
        self.parameters = {name: spec.get("Default")
                           for name, spec in template.get("Parameters", {}).items()}
        self.stack = stack
        self.pseudo = {"AWS::Region": stack.region, "AWS::AccountId": stack.account,
                       "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
                       "AWS::StackName": stack.name, "AWS::NoValue": None}

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.stack.physical:
            return self.stack.physical[name]
        if name in self.parameters and self.parameters[name] is not None:
            return self.parameters[name]
        raise TemplateError(f"cannot resolve Ref {name}")

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not next(iter(value)).startswith(("Fn::", "Ref")):
            return {k: self(v) for k, v in value.items()}
        (key, arg), = value.items()
        if key == "Ref":
            return self.ref(arg)
        if key == "Fn::GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            if attribute == "Arn" and logical_id in self.stack.arns:
                return self.stack.arns[logical_id]
            if attribute in ("TopicName", "QueueName"):  # the ARN's last part
                return self.stack.arns[logical_id].rsplit(":", 1)[-1]
            if attribute == "Name":
                return self.stack.physical[logical_id]
            raise TemplateError(f"cannot resolve Fn::GetAtt {logical_id}.{attribute}")
        if key == "Fn::Join":
            return arg[0].join(str(self(part)) for part in self(arg[1]))
        if key == "Fn::Select":
            return self(arg[1])[int(self(arg[0]))]
        if key == "Fn::Split":
            return str(self(arg[1])).split(arg[0])
        if key == "Fn::FindInMap":
            mapping, first, second = (self(a) for a in arg)
            try:
                return self.mappings[mapping][first][second]
            except KeyError as err:
                raise TemplateError(f"Fn::FindInMap {mapping}/{first}/{second}: no such entry "
                                    f"(the stack's region {self.stack.region} is not in the "
                                    "mapping?)") from err
        if key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self(arg[1]))

            def substitute(match: re.Match) -> str:
                name = match.group(1)
                if name in variables:
                    return str(variables[name])
                if "." in name:
                    logical_id, attribute = name.split(".", 1)
                    return str(self({"Fn::GetAtt": [logical_id, attribute]}))
                return str(self.ref(name))

            return re.sub(r"\$\{([^}!]+)\}", substitute, text)
        raise TemplateError(f"intrinsic {key} is not supported locally")


def _handler(props: dict[str, Any], logical_id: str) -> str:
    command = props.get("ImageConfig", {}).get("Command")
    if command:
        dotted = command[0]
    elif props.get("Handler"):
        dotted = props["Handler"]
    else:
        raise TemplateError(f"function {logical_id}: no handler (ImageConfig.Command or "
                            "Handler) in the template")
    module, _, attr = dotted.rpartition(".")
    return f"{module}:{attr}"


# Resource types the local runtime stands up or reads (the rest are listed as skipped).
_USED = ("AWS::S3::Bucket", "AWS::SNS::Topic", "AWS::IAM::Role", "AWS::IAM::Policy",
         "AWS::IAM::ManagedPolicy", "AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy",
         "AWS::CloudWatch::Alarm", "AWS::Scheduler::Schedule", "AWS::SNS::Subscription")


def load(template: dict[str, Any], stack_name: str, region: str, account: str) -> SynthesizedStack:
    resources = template.get("Resources", {})
    stack = SynthesizedStack(stack_name, region, account)
    stack.physical, stack.arns = _resource_names(stack_name, resources, region, account)
    resolve = Resolver(template, stack)
    machines = []
    for logical_id, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::Lambda::Function":
            env = resolve(props.get("Environment", {}).get("Variables", {}))
            stack.functions[logical_id] = LocalFunction(
                logical_id, stack.physical[logical_id], stack.arns[logical_id],
                _handler(props, logical_id), {k: str(v) for k, v in env.items()},
                int(props.get("MemorySize", 128)), int(props.get("Timeout", 3)),
                str(resolve(props["Role"])))
        elif kind == "AWS::StepFunctions::StateMachine":
            machines.append((logical_id, props))
        elif kind not in _USED:
            stack.skipped[kind] = stack.skipped.get(kind, 0) + 1
    if len(machines) != 1:
        raise TemplateError(f"expected one state machine in the template, found {len(machines)}")
    logical_id, props = machines[0]
    definition = props.get("DefinitionString") or props.get("Definition")
    stack.definition = definition if isinstance(definition, str) else resolve(definition)
    if not isinstance(stack.definition, str):
        stack.definition = json.dumps(stack.definition)
    stack.state_machine_name = stack.physical[logical_id].rsplit(":", 1)[-1]
    stack.state_machine_role_arn = str(resolve(props["RoleArn"]))
    stack.policies = read_policies(template, resolve, stack.physical)
    for key, output in template.get("Outputs", {}).items():
        try:
            stack.outputs[key] = str(resolve(output["Value"]))
        except TemplateError:
            stack.outputs[key] = "(not resolvable locally)"
    return stack


def create_resources(template: dict[str, Any], stack: SynthesizedStack) -> None:
    """Create the buckets and topics in moto, and the alarms, schedules and subscriptions
    (idempotent); functions are registered by the
    runtime (`LocalAWS.deploy_stack`)."""
    s3, sns = boto3.client("s3"), boto3.client("sns")
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource["Type"] == "AWS::S3::Bucket" and stack.physical[logical_id] not in existing:
            kwargs: dict[str, Any] = {"Bucket": stack.physical[logical_id]}
            if stack.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": stack.region}
            s3.create_bucket(**kwargs)
            if resource.get("Properties", {}).get("VersioningConfiguration"):
                s3.put_bucket_versioning(Bucket=stack.physical[logical_id],
                                         VersioningConfiguration={"Status": "Enabled"})
        elif resource["Type"] == "AWS::SNS::Topic":
            sns.create_topic(Name=stack.physical[logical_id].rsplit(":", 1)[-1])
    monitoring_state.create_from_template(template.get("Resources", {}),
                                          Resolver(template, stack))
