"""The synthesized roles are what the local run enforces: take one grant away and the run
fails at the step that needed it, with the error AWS would give."""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_pipeline.pipeline import execute
from localaws.authorization import acting_as, role_session
from localaws.iam import Decision, Principal, Request, evaluate, statements
from localaws.runtime import ACCOUNT, LocalAWS
from localaws.template import Resolver, load
from pipeline_lambdas.contract import LOCK_KEY, EndState
from tests.support.stacks import local_stack

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
QUIET = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory) -> tuple[dict[str, Any], str, str]:
    stack = local_stack(tmp_path_factory.mktemp("cdk"))
    return stack.template, stack.stack_name, stack.settings.region


def _without(template: dict[str, Any], step: str, action: str) -> dict[str, Any]:
    """The template with `action` taken out of the policy of the step function's role."""
    changed = copy.deepcopy(template)
    prefix = f"Functions{step.replace('-', '')}role"
    roles = {logical_id for logical_id, r in changed["Resources"].items()
             if r["Type"] == "AWS::IAM::Role" and logical_id.startswith(prefix)}
    removed = 0
    for resource in changed["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy" or not any(
                role.get("Ref") in roles for role in resource["Properties"]["Roles"]):
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) \
                else [statement["Action"]]
            if action in actions:
                statement["Action"] = [a for a in actions if a != action] or ["none:None"]
                removed += 1
    assert removed, f"no grant of {action} to {step}'s role in the template"
    return changed


def _run(template: dict[str, Any], stack_name: str, region: str, demo_log, tmp_path):
    with LocalAWS(region=region, work_dir=tmp_path / "work") as aws:
        local, arn = aws.deploy_stack(template, stack_name, QUIET)
        result = execute(aws, arn, local.definition, local.environment["MODELS_BUCKET"],
                         demo_log[0], tmp_path, "deploy", timeout=600)
        endpoints = boto3.client("sagemaker").list_endpoints()["Endpoints"]
    return result, endpoints


@pytest.mark.parametrize(("role", "action", "step"), [
    ("train", "s3:GetObject", "Train"),
    ("create-model", "iam:PassRole", "CreateModelAndConfig"),
])
def test_a_missing_grant_fails_the_run_at_its_step_with_access_denied(
        synthesized, demo_log, tmp_path, role, action, step) -> None:
    template, stack_name, region = synthesized
    result, endpoints = _run(_without(template, role, action), stack_name, region, demo_log,
                             tmp_path)
    assert result.final_state == EndState.PIPELINE_FAILED
    error = result.state_value("error")
    message = json.loads(error["Cause"])["errorMessage"]
    assert "AccessDenied" in message and f"is not authorized to perform: {action}" in message
    entered = [e["stateEnteredEventDetails"]["name"] for e in result.events
               if e["type"].endswith("StateEntered")]
    tasks = [name for name in entered if name in STEPS]
    assert tasks[-1] == step, entered  # the step that needed the grant is the last that ran
    assert endpoints == []  # nothing was deployed


# The task states of a run up to the endpoint, in order (the end states are not listed).
STEPS = ("AcquireLock", "Train", "Package", "QualityGate", "CreateModelAndConfig", "Deploy")


def test_a_missing_key_reads_as_access_denied_without_list_bucket(synthesized,
                                                                   tmp_path) -> None:
    """S3 answers 403 for a key that does not exist when the caller may not list the bucket:
    the lock roles (Get/Put on the lock only) see AccessDenied, and so does Train, whose
    ListBucket is conditioned on s3:prefix: a GetObject's request carries no prefix."""
    template, stack_name, region = synthesized
    with LocalAWS(region=region, work_dir=tmp_path / "work") as aws:
        local, _ = aws.deploy_stack(template, stack_name, QUIET)
        bucket = local.environment["MODELS_BUCKET"]
        roles = {f.name.removeprefix("calltime-local-"): f.role_arn
                 for f in local.functions.values()}
        s3 = boto3.client("s3")
        with acting_as(role_session(roles["acquire-lock"], "acquire")), \
                pytest.raises(ClientError) as lock:
            s3.get_object(Bucket=bucket, Key=LOCK_KEY)
        with acting_as(role_session(roles["train"], "train")), \
                pytest.raises(ClientError) as data:
            s3.get_object(Bucket=bucket, Key="data/calls/none.csv")
    assert lock.value.response["Error"]["Code"] == "AccessDenied"
    assert lock.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert data.value.response["Error"]["Code"] == "AccessDenied"


def test_every_alarm_may_publish_to_its_topic_and_nothing_else_may(synthesized) -> None:
    """Alarm actions are CloudWatch publishing as itself: the topic policy must allow it for
    each alarm of this stack (by the alarm's ARN and account), and no other service."""
    template, stack_name, region = synthesized
    stack = load(template, stack_name, region, ACCOUNT)
    resolve = Resolver(template, stack)
    alarms = [resolve(r["Properties"]) for r in template["Resources"].values()
              if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert alarms
    cloudwatch = Principal(service="cloudwatch.amazonaws.com")
    for alarm in alarms:
        source = {"aws:SourceAccount": ACCOUNT, "aws:SecureTransport": "true",
                  "aws:SourceArn": f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:"
                                   f"{alarm['AlarmName']}"}
        for topic in alarm["AlarmActions"]:
            assert stack.policies.decide(Request(cloudwatch, "sns:Publish", topic, source)) \
                is Decision.ALLOWED, alarm["AlarmName"]
            stranger = Request(Principal(service="events.amazonaws.com"), "sns:Publish", topic,
                               source)
            assert stack.policies.decide(stranger) is Decision.IMPLICIT_DENY
            elsewhere = Request(cloudwatch, "sns:Publish", topic,
                                {**source, "aws:SourceAccount": "999999999999"})
            assert stack.policies.decide(elsewhere) is Decision.IMPLICIT_DENY


def test_the_schedule_may_start_this_state_machine_only(synthesized) -> None:
    """The scheduler's role, as EventBridge Scheduler assumes and uses it: its trust policy lets
    only this account's schedules assume it, and it may start this state machine, no other."""
    template, stack_name, region = synthesized
    stack = load(template, stack_name, region, ACCOUNT)
    resolve = Resolver(template, stack)
    (logical_id,) = [i for i, r in template["Resources"].items()
                     if r["Type"] == "AWS::IAM::Role" and i.startswith("ScheduleRole")]
    trust = resolve(template["Resources"][logical_id]["Properties"]["AssumeRolePolicyDocument"])
    role_arn = stack.arns[logical_id]
    scheduler = Principal(service="scheduler.amazonaws.com")
    assume = {"aws:SourceAccount": ACCOUNT}
    assert evaluate(Request(scheduler, "sts:AssumeRole", role_arn, assume), [],
                    statements(trust)) is Decision.ALLOWED
    assert evaluate(Request(scheduler, "sts:AssumeRole", role_arn,
                            {"aws:SourceAccount": "999999999999"}), [],
                    statements(trust)) is Decision.IMPLICIT_DENY
    session = role_session(role_arn, "schedule")
    machine = f"arn:aws:states:{region}:{ACCOUNT}:stateMachine:{stack.state_machine_name}"
    assert stack.policies.decide(Request(session, "states:StartExecution", machine)) \
        is Decision.ALLOWED
    assert stack.policies.decide(Request(session, "states:StartExecution",
                                         f"{machine}-other")) is Decision.IMPLICIT_DENY
    assert stack.policies.decide(Request(session, "states:StopExecution", machine)) \
        is Decision.IMPLICIT_DENY


def test_a_failed_multipart_upload_fails_with_its_own_cause_not_access_denied(
        synthesized, tmp_path) -> None:
    """TrainOnSample writes the run's rejects by multipart upload and aborts it when a part
    fails; the abort needs s3:AbortMultipartUpload, else AccessDenied hides the real cause
    (here: a rejects file that is not UTF-8). Train's upload_file aborts the same way."""
    from pipeline_lambdas.work_area import concatenate_csv

    template, stack_name, region = synthesized
    with LocalAWS(region=region, work_dir=tmp_path / "work") as aws:
        local, _ = aws.deploy_stack(template, stack_name, QUIET)
        bucket = local.environment["MODELS_BUCKET"]
        roles = {f.name.removeprefix("calltime-local-"): f.role_arn
                 for f in local.functions.values()}
        s3 = boto3.client("s3")
        s3.put_object(Bucket=bucket, Key="work/run/rejects/part=00000-0000.csv",
                      Body=b"source_row,reject_reason\n1,\xff\xfe\n")
        with acting_as(role_session(roles["train-sample"], "train-sample")), \
                pytest.raises(UnicodeDecodeError):
            concatenate_csv(s3, bucket, ["work/run/rejects/part=00000-0000.csv"],
                            "staging/v1/rejects.csv", ["source_row", "reject_reason"])
        assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)  # aborted
        for role in ("train", "train-sample"):
            principal = role_session(roles[role], role)
            asked = Request(principal, "s3:AbortMultipartUpload",
                            f"arn:aws:s3:::{bucket}/staging/v1/rejects.csv",
                            {"aws:SecureTransport": "true"})
            assert local.policies.decide(asked) is Decision.ALLOWED, role


def test_what_does_not_exist_yet_is_told_apart_under_the_roles_as_synthesized(
        synthesized, tmp_path) -> None:
    """S3 answers a missing key 403 to these roles (they may not list the bucket): Notify's
    first history write still creates the history, and Package still says an unpublished
    deploy_version was never published, by name."""
    from pipeline_lambdas.errors import VersionNotFound
    from pipeline_lambdas.notify import add_to_history
    from pipeline_lambdas.package_step import find_published
    from pipeline_lambdas.settings import PipelineSettings

    template, stack_name, region = synthesized
    with LocalAWS(region=region, work_dir=tmp_path / "work") as aws:
        local, _ = aws.deploy_stack(template, stack_name, QUIET)
        settings = PipelineSettings.from_env(local.environment)
        roles = {f.name.removeprefix("calltime-local-"): f.role_arn
                 for f in local.functions.values()}
        s3 = boto3.client("s3")
        details = {"train": {"model_version": "20261206T030000Z-aaaaaa"},
                   "error": {"Error": "", "Cause": ""}}
        with acting_as(role_session(roles["notify"], "notify")):
            assert add_to_history(s3, settings, "deployed", details, "run-1") == "1 runs"
        s3.put_object(Bucket=settings.models_bucket, Key="models/optimal-call-time/history.json",
                      Body=b"{damaged")
        with acting_as(role_session(roles["notify"], "notify")):  # kept aside, not denied
            assert "history.json was damaged" in add_to_history(s3, settings, "deployed",
                                                                details, "run-2")
        assert s3.get_object(Bucket=settings.models_bucket,
                             Key="models/optimal-call-time/history.html")["Body"].read()
        with acting_as(role_session(roles["package"], "package")), \
                pytest.raises(VersionNotFound, match="no published model version"):
            find_published(s3, settings, "20990101T000000Z-nope")
