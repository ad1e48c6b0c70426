"""What `cdk deploy` creates, asserted on the synthesized template (us-east-1, il-central-1)."""

from __future__ import annotations

# Registers MetadataEntry, the type of Annotations' entries: jsii imports submodules lazily,
# and once did not find it there (CI at 3d84ac3, test_synth_warns_where_serverless_...).
import aws_cdk.cloud_assembly_schema  # noqa: F401
import pytest
from aws_cdk.assertions import Annotations, Match

from infra import images
from infra.functions import STEPS
from operations.account import NotFound, output
from pipeline_lambdas import contract
from pipeline_lambdas.errors import DeploymentInProgress
from tests.support.stacks import REGIONS, definition, synth

ACCOUNT = "111122223333"


def _resources(template, kind: str) -> dict:
    return template.find_resources(kind)


def _one(template, kind: str, logical_prefix: str) -> dict:
    (resource,) = [r for logical_id, r in _resources(template, kind).items()
                   if logical_id.startswith(logical_prefix)]
    return resource


def _statements(template, role_logical_prefix: str) -> list[dict]:
    policies = template.find_resources("AWS::IAM::Policy")
    out = []
    for logical_id, policy in policies.items():
        if logical_id.startswith(role_logical_prefix):
            out += policy["Properties"]["PolicyDocument"]["Statement"]
    return out


def _text(value) -> str:
    """A CloudFormation string value as text: Partition -> aws, other Refs -> <Name>."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_text(p) for p in parts)
    if value.get("Ref") == "AWS::Partition":
        return "aws"
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    raise AssertionError(f"unexpected value {value!r}")


def _actions(statement: dict) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


def test_models_bucket_is_private_encrypted_versioned_logged(synthesized) -> None:
    _, _, template = synthesized
    template.has_resource_properties("AWS::S3::Bucket", {
        "VersioningConfiguration": {"Status": "Enabled"},
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                           "IgnorePublicAcls": True,
                                           "RestrictPublicBuckets": True},
        "LoggingConfiguration": {"DestinationBucketName": Match.any_value(),
                                 "LogFilePrefix": "models-bucket/"},
    })  # its lifecycle: tests/infra/test_storage_lifecycle.py
    # SSL only, on both buckets.
    for policy in _resources(template, "AWS::S3::BucketPolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(s["Effect"] == "Deny" and s["Condition"] == {
            "Bool": {"aws:SecureTransport": "false"}} for s in statements)
    assert len(_resources(template, "AWS::S3::BucketPolicy")) == 2


def test_an_existing_bucket_is_used_not_created(tmp_path_factory) -> None:
    _, template = synth(tmp_path_factory, region="us-east-1",
                        ml_models_bucket="acme-existing-models")
    template.resource_count_is("AWS::S3::Bucket", 0)
    for function in _resources(template, "AWS::Lambda::Function").values():
        assert function["Properties"]["Environment"]["Variables"]["MODELS_BUCKET"] == \
            "acme-existing-models"


def test_sagemaker_execution_role_reads_only_the_model_prefix(synthesized) -> None:
    region, _, template = synthesized
    template.has_resource_properties("AWS::IAM::Role", {
        "AssumeRolePolicyDocument": {"Statement": [Match.object_like({
            "Principal": {"Service": "sagemaker.amazonaws.com"}})]}})
    statements = _statements(template, "HostingSageMakerExecutionPolicy")
    s3 = [s for s in statements if any(a.startswith("s3:") for a in _actions(s))]
    assert [_actions(s) for s in s3] == [["s3:GetObject"]]
    assert _text(s3[0]["Resource"]).endswith(".Arn>/models/optimal-call-time/*")
    ecr = next(s for s in statements if "ecr:BatchGetImage" in _actions(s))
    image_account = images.image_uri(region).split(".")[0]
    assert _text(ecr["Resource"]) == (f"arn:aws:ecr:{region}:{image_account}:repository/"
                                      "sagemaker-scikit-learn")
    logs = next(s for s in statements if "logs:PutLogEvents" in _actions(s))
    assert _text(logs["Resource"]) == (f"arn:aws:logs:{region}:{ACCOUNT}:log-group:"
                                       "/aws/sagemaker/Endpoints/calltime-dev-optimal-call-time:*")


def test_invoke_role_and_policy_allow_only_invoking_this_endpoint(synthesized) -> None:
    region, _, template = synthesized
    endpoint_arn = f"arn:aws:sagemaker:{region}:{ACCOUNT}:endpoint/calltime-dev-optimal-call-time"
    role = _one(template, "AWS::IAM::Role", "HostingInvokeRole")
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"}
    inline = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    managed = next(iter(_resources(template, "AWS::IAM::ManagedPolicy").values()))
    for statements in (inline, managed["Properties"]["PolicyDocument"]["Statement"]):
        assert len(statements) == 1
        assert statements[0]["Action"] == "sagemaker:InvokeEndpoint"
        assert _text(statements[0]["Resource"]) == endpoint_arn
    assert not role["Properties"].get("ManagedPolicyArns")


def test_one_function_and_least_privilege_role_per_step(synthesized) -> None:
    region, _, template = synthesized
    functions = _resources(template, "AWS::Lambda::Function")
    assert len(functions) == len(STEPS)
    roles = {f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()}
    assert len(roles) == len(STEPS)  # one role each
    by_name = {f["Properties"]["FunctionName"]: f["Properties"] for f in functions.values()}
    for step in STEPS:
        props = by_name[f"calltime-dev-{step.key}"]
        assert props["PackageType"] == "Image"
        assert props["ImageConfig"]["Command"] == [step.handler]
        assert props["TracingConfig"] == {"Mode": "Active"}
        env = props["Environment"]["Variables"]
        assert env["MEMORY_SIZE_MB"] == "1024" and env["MAX_CONCURRENCY"] == "200"
        assert env["CONTAINER_IMAGE"] == images.image_uri(region)
        assert env["LIVE_MODEL_PARAMETER"] == "/calltime/dev/live-model"
    assert by_name["calltime-dev-train"]["MemorySize"] == 4096
    assert by_name["calltime-dev-train"]["Timeout"] == 900
    everything = [a for p in _resources(template, "AWS::IAM::Policy").values()
                  for s in p["Properties"]["PolicyDocument"]["Statement"] for a in _actions(s)]
    assert not [a for a in everything if a.endswith(":*") or a == "*"]
    # Only the health check, the rollback and the invoke role may invoke the endpoint: every
    # policy of the template that grants InvokeEndpoint is one of theirs.
    def grants_invoke(document: dict) -> bool:
        return any("sagemaker:InvokeEndpoint" in _actions(s) for s in document["Statement"])

    invokers = sorted(lid for lid, p in _resources(template, "AWS::IAM::Policy").items()
                      if grants_invoke(p["Properties"]["PolicyDocument"]))
    owners = ("Functionshealthcheckrole", "Functionsrollbackrole")
    assert [next(o for o in owners if lid.startswith(o)) for lid in invokers] == list(owners)
    inline = [lid for lid, r in _resources(template, "AWS::IAM::Role").items()
              if any(grants_invoke(p["PolicyDocument"]) for p in r["Properties"].get(
                  "Policies", []))]
    managed = [lid for lid, p in _resources(template, "AWS::IAM::ManagedPolicy").items()
               if grants_invoke(p["Properties"]["PolicyDocument"])]
    assert len(inline) == 1 and len(managed) == 1  # the invoke role and its managed policy
    train = {a for s in _statements(template, "Functionstrainrole") for a in _actions(s)}
    assert not {a for a in train if a.startswith("sagemaker:") and "Describe" not in a}
    passrole = next(s for s in _statements(template, "Functionscreatemodelrole")
                    if "iam:PassRole" in _actions(s))
    assert passrole["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def _definition(template) -> dict:
    return definition(template.to_json())


def test_state_machine_wiring(synthesized) -> None:
    _, _, template = synthesized
    template.has_resource_properties("AWS::StepFunctions::StateMachine", {
        "StateMachineName": "calltime-dev-retraining",
        "TracingConfiguration": {"Enabled": True},
        "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": True,
                                 "Destinations": Match.any_value()}})
    definition = _definition(template)
    states = definition["States"]
    assert definition["TimeoutSeconds"] == 7200
    tasks = {name: s for name, s in states.items() if s["Type"] == "Task"}
    lambda_tasks = {n: t for n, t in tasks.items() if "aws-sdk" not in str(t["Resource"])}
    for name, task in lambda_tasks.items():
        retried = {e for r in task["Retry"] for e in r["ErrorEquals"]}
        assert {"Lambda.ServiceException", "Lambda.TooManyRequestsException"} <= retried, name
        assert all(r["BackoffRate"] == 2 for r in task["Retry"])
    for name in ("Deploy", "CheckEndpoint", "HealthCheck"):
        assert tasks[name]["Catch"][0]["Next"] == "Rollback", name
    for name in ("Train", "Package", "QualityGate", "CreateModelAndConfig"):
        assert tasks[name]["Catch"][0]["Next"] == "OutcomeFailed", name
    # AcquireLock: a held lock is a refusal; anything else a failure.
    assert [c["Next"] for c in tasks["AcquireLock"]["Catch"]] == ["OutcomeRefused",
                                                                 "OutcomeFailed"]
    # A failed Rollback function: Step Functions puts the previous config back itself (no
    # Lambda), unless there is none; any failure of that is RollbackFailed.
    assert tasks["Rollback"]["Catch"][0]["Next"] == "CanRestoreDirectly"
    # The rollback target is what served when CreateModelAndConfig looked, recorded before
    # Deploy touches the endpoint; Deploy and Rollback fall back to it.
    assert states["CreateModelAndConfig"]["Next"] == "RecordRollbackTarget"
    assert states["RecordRollbackTarget"] == {
        "Type": "Pass", "ResultPath": "$.deploy", "Next": "Deploy", "Parameters": {
            "previous_endpoint_config_name.$": "$.model.live_endpoint_config_name",
            "deploy_started_at": ""}}
    for name in ("Deploy", "Rollback"):
        assert tasks[name]["Parameters"]["endpoint_config_at_start.$"] == \
            "$.model.live_endpoint_config_name", name
    assert states["CanRestoreDirectly"]["Choices"][0] == {
        "Variable": "$.deploy.previous_endpoint_config_name", "StringEquals": "",
        "Next": "OutcomeRollbackFailed"}
    restore = tasks["RestorePreviousConfig"]
    assert restore["Resource"].endswith(":states:::aws-sdk:sagemaker:updateEndpoint")
    assert restore["Parameters"] == {
        "EndpointName": "calltime-dev-optimal-call-time",
        "EndpointConfigName.$": "$.deploy.previous_endpoint_config_name"}
    assert {t["Catch"][0]["Next"] for n, t in tasks.items() if n not in lambda_tasks} == {
        "OutcomeRollbackFailed"}
    restored = next(c for c in states["RestoreStatus"]["Choices"] if "And" in c)
    assert restored["Next"] == "CleanupAfterRollback"
    assert states["RestoreStatus"]["Choices"][0]["NumericGreaterThanPath"] == "$.run.max_checks"
    assert states["WaitForEndpoint"]["SecondsPath"] == "$.run.poll_seconds"
    assert tasks["CheckEndpoint"]["Parameters"]["max_attempts.$"] == "$.run.max_checks"
    choices = {c["StringEquals"]: c["Next"] for c in states["EndpointStatus"]["Choices"]}
    assert choices == {"IN_SERVICE": "HealthCheck", "IN_PROGRESS": "WaitForEndpoint"}
    assert states["EndpointStatus"]["Default"] == "DeploymentFailed"
    gate = states["GateDecision"]
    assert gate["Choices"][0] == {"Variable": "$.gate.decision", "StringEquals": "keep-current",
                                  "Next": "OutcomeKeptCurrentModel"}
    # Every outcome passes through Notify, then ReleaseLock.
    outcomes = [n for n in states if n.startswith("Outcome") and states[n]["Type"] == "Pass"]
    assert len(outcomes) == len(contract.Outcome)
    assert all(states[n]["Next"] == "Notify" for n in outcomes)
    assert states["Notify"]["Next"] == "ReleaseLock"
    # `{}` is a complete input: the defaults carry the production timing and the settings.
    assert states["Start"]["Parameters"]["defaults"] == {
        "data_uri": "", "force_deploy": False, "memory_size_mb": 1024, "max_concurrency": 200,
        "poll_seconds": 30, "max_checks": 60, "rollback_poll_seconds": 15, "deploy_version": ""}
    # {"deploy_version": v}: no training and no gate, the same deploy, checks and rollback.
    assert states["AcquireLock"]["Next"] == "RunKind"
    assert states["RunKind"]["Choices"] == [{"Variable": "$.run.deploy_version",
                                             "StringEquals": "", "Next": "PlanTraining"}]
    assert states["RunKind"]["Default"] == "RequestedVersion"
    assert states["RequestedVersion"]["Next"] == "Package" == states["Train"]["Next"]
    assert states["Package"]["Next"] == "GateNeeded"
    assert states["GateNeeded"]["Default"] == "SkipGate"
    assert states["SkipGate"]["Next"] == "GateDecision" == states["QualityGate"]["Next"]


def test_weekly_schedule_may_only_start_this_state_machine_and_report_failures(
        synthesized) -> None:
    _, _, template = synthesized
    template.has_resource_properties("AWS::Scheduler::Schedule", {
        "ScheduleExpression": "cron(0 3 ? * SUN *)",
        "ScheduleExpressionTimezone": "Asia/Jerusalem",
        "State": "ENABLED",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": {"Ref": Match.string_like_regexp("PipelineStateMachine")},
                   "Input": "{}", "RoleArn": Match.any_value(),
                   "RetryPolicy": Match.any_value(),
                   "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [Match.string_like_regexp(
                       "ScheduleDeadLetters"), "Arn"]}}}})
    role = _one(template, "AWS::IAM::Role", "ScheduleRole")
    (machine,) = _resources(template, "AWS::StepFunctions::StateMachine")
    (queue,) = _resources(template, "AWS::SQS::Queue")
    statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statements == [{"Action": "states:StartExecution", "Effect": "Allow",
                           "Resource": {"Ref": machine}},
                          {"Action": "sqs:SendMessage", "Effect": "Allow",
                           "Resource": {"Fn::GetAtt": [queue, "Arn"]}}]


def test_schedule_settings_reach_the_schedule(tmp_path_factory) -> None:
    _, template = synth(tmp_path_factory, region="il-central-1",
                        schedule_expression="cron(30 4 ? * MON *)",
                        schedule_time_zone="Europe/London", schedule_enabled="false")
    template.has_resource_properties("AWS::Scheduler::Schedule", {
        "ScheduleExpression": "cron(30 4 ? * MON *)",
        "ScheduleExpressionTimezone": "Europe/London", "State": "DISABLED"})


def _alarm(template, name: str) -> dict:
    return next(a["Properties"] for a in _resources(template, "AWS::CloudWatch::Alarm").values()
                if a["Properties"]["AlarmName"] == f"calltime-dev-{name}")


def test_alarms_thresholds_and_actions(synthesized) -> None:
    _, _, template = synthesized
    latency = _alarm(template, "model-latency")
    assert (latency["MetricName"], latency["Threshold"], latency["ExtendedStatistic"]) == (
        "ModelLatency", 1_000_000, "p90")
    assert latency["Dimensions"] == [{"Name": "EndpointName",
                                      "Value": "calltime-dev-optimal-call-time"},
                                     {"Name": "VariantName", "Value": "AllTraffic"}]
    errors = _alarm(template, "invocation-error-rate")
    assert errors["Threshold"] == 5
    assert "e4 + e5" in next(m["Expression"] for m in errors["Metrics"] if "Expression" in m)
    assert _alarm(template, "concurrency")["Threshold"] == 0.9
    assert _alarm(template, "concurrency")["MetricName"] == \
        "ServerlessConcurrentExecutionsUtilization"
    assert _alarm(template, "cold-start")["Threshold"] == 60_000_000
    assert _alarm(template, "pipeline-failed")["Threshold"] == 1
    for name, metric in (("rollback", "Rollbacks"), ("rollback-failed", "RollbackFailed")):
        alarm = _alarm(template, name)
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == (
            "calltime", metric, 1)
        assert alarm["Dimensions"] == [{"Name": "service", "Value": "calltime-dev-pipeline"}]
    (topic,) = _resources(template, "AWS::SNS::Topic")
    for alarm in _resources(template, "AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic}]
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_alarm_thresholds_come_from_settings(tmp_path_factory) -> None:
    _, template = synth(tmp_path_factory, region="us-east-1",
                        alarms={"model_latency_ms": 250, "error_rate_percent": 2})
    assert _alarm(template, "model-latency")["Threshold"] == 250_000
    assert _alarm(template, "invocation-error-rate")["Threshold"] == 2


def test_outputs(synthesized) -> None:
    region, _, template = synthesized
    outputs = template.find_outputs("*")
    assert set(outputs) >= {
        "endpointname", "endpointarn", "modelname", "sagemakerexecutionrolearn",
        "lambdasagemakerinvokerolearn", "lambdasagemakerinvokerolename",
        "statemachinearn", "modelsbucketname", "topicarn"}
    assert outputs["endpointname"]["Value"] == "calltime-dev-optimal-call-time"
    assert outputs["modelname"]["Value"] == "/calltime/dev/live-model"
    assert _text(outputs["endpointarn"]["Value"]) == (
        f"arn:aws:sagemaker:{region}:{ACCOUNT}:endpoint/calltime-dev-optimal-call-time")
    # The operator commands (operations/account.py) find the stack's resources by these names,
    # as DescribeStacks lists them.
    listed = {key: f"value-of-{key}" for key in outputs}
    for name in ("models_bucket_name", "endpoint_name", "state_machine_arn"):
        assert output(listed, name) == f"value-of-{name.replace('_', '')}"
    with pytest.raises(NotFound, match=r"no output 'bucket' .is it calltime's"):
        output(listed, "bucket")


def test_every_taggable_resource_is_tagged(synthesized) -> None:
    _, _, template = synthesized
    tagged_kinds = {"AWS::S3::Bucket", "AWS::IAM::Role", "AWS::Lambda::Function",
                    "AWS::StepFunctions::StateMachine", "AWS::SNS::Topic", "AWS::Logs::LogGroup"}
    checked = 0
    for kind in tagged_kinds:
        for resource in _resources(template, kind).values():
            tags = resource["Properties"].get("Tags", [])
            tags = {t["Key"]: t["Value"] for t in tags} if isinstance(tags, list) else tags
            assert tags.get("project") == "calltime" and tags.get("environment") == "dev"
            checked += 1
    assert checked > 30


def test_region_agnostic_stack_maps_the_image_per_region(tmp_path_factory) -> None:
    _, template = synth(tmp_path_factory, account=None, region=None)
    mappings = template.find_mappings("*")
    (mapping,) = mappings.values()
    assert mapping["il-central-1"]["image"] == images.image_uri("il-central-1")
    assert mapping["us-east-1"]["image"] == images.image_uri("us-east-1")


def test_the_state_machine_branches_on_what_the_steps_return(synthesized) -> None:
    """Every value a Choice compares and every end the machine can reach is the contract's."""
    _, _, template = synthesized
    states = _definition(template)["States"]
    compared = {c["Variable"]: c["StringEquals"] for name in ("GateDecision", "EndpointStatus")
                for c in states[name]["Choices"]}
    assert compared["$.gate.decision"] in set(contract.GateDecision)
    assert {c["StringEquals"] for c in states["EndpointStatus"]["Choices"]} <= \
        set(contract.DeploymentState)
    recorded = {s["Result"] for n, s in states.items() if n.startswith("Outcome")
                and s["Type"] == "Pass"}
    assert recorded == set(contract.Outcome)
    by_outcome = {c.get("StringEquals"): c["Next"] for c in states["Outcome"]["Choices"]}
    ends = {n for n, s in states.items() if s["Type"] in ("Succeed", "Fail")}
    assert ends == set(contract.EndState)
    assert set(by_outcome.values()) | {states["Outcome"]["Default"]} == ends
    # A refused run is its own outcome (notified as "refused"), ending in RunRefused with the
    # lock's error name; AcquireLock catches that error before any other.
    assert states[by_outcome[contract.Outcome.REFUSED]]["Error"] == DeploymentInProgress.__name__
    first, *_ = states["AcquireLock"]["Catch"]
    assert first["ErrorEquals"] == [DeploymentInProgress.__name__]
    assert states[first["Next"]]["Result"] == contract.Outcome.REFUSED


def test_every_function_gets_exactly_the_environment_the_steps_read(synthesized) -> None:
    _, _, template = synthesized
    read = {value for name, value in vars(contract).items() if name.endswith("_ENV")}
    for function in _resources(template, "AWS::Lambda::Function").values():
        variables = set(function["Properties"]["Environment"]["Variables"])
        own = {v for v in variables if not v.startswith("POWERTOOLS_")}
        # DATA_URI is optional: the default call-log location follows from the bucket.
        assert own == read - {contract.DATA_URI_ENV}


def test_alarms_may_publish_to_the_topic_and_only_this_stacks(synthesized) -> None:
    """The topic policy that enforce_ssl creates replaces SNS's default: CloudWatch must be
    allowed explicitly, for this account's alarms of this environment only."""
    region, _, template = synthesized
    (policy,) = _resources(template, "AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    alarms = [s for s in statements
              if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert len(alarms) == 1
    (allow,) = alarms
    assert allow["Effect"] == "Allow" and allow["Action"] == "sns:Publish"
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert _text(allow["Condition"]["ArnLike"]["aws:SourceArn"]) == \
        f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:calltime-dev-*"
    names = {a["Properties"]["AlarmName"]
             for a in _resources(template, "AWS::CloudWatch::Alarm").values()}
    assert names and all(name.startswith("calltime-dev-") for name in names)
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport":
                                                                      "false"}}
               for s in statements)


def test_a_start_the_schedule_could_not_make_is_kept_and_alarmed(synthesized) -> None:
    _, _, template = synthesized
    (queue_id, queue), = _resources(template, "AWS::SQS::Queue").items()
    assert queue["Properties"]["QueueName"] == "calltime-dev-schedule-dead-letters"
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    alarm = _alarm(template, "schedule-failed")
    # Every failed start alarms: messages sent, not visible (nothing drains the queue).
    assert (alarm["MetricName"], alarm["Statistic"]) == ("NumberOfMessagesSent", "Sum")
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": [queue_id, "QueueName"]}
    assert alarm["Threshold"] == 1 and alarm["AlarmActions"]


def test_notify_reports_every_error_and_reads_only_paths_that_always_exist(synthesized) -> None:
    """Notify runs on every path, so each path it reads must exist from ApplyDefaults on (a
    missing one fails the state); it carries the rollback's and cleanup's errors too."""
    _, _, template = synthesized
    states = _definition(template)["States"]
    details = states["Notify"]["Parameters"]["details"]
    assert {"error.$", "rollback_error.$", "cleanup_error.$"} <= set(details)
    slots = {key.removesuffix(".$") for key in states["ApplyDefaults"]["Parameters"]}
    for field, path in details.items():
        assert path.split(".")[1] in slots, field


def test_synth_warns_where_serverless_inference_is_not_documented(synthesized) -> None:
    region, stack, _ = synthesized
    warnings = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("Serverless Inference is not in the documented regions"))
    assert len(warnings) == (0 if region == "us-east-1" else 1)
    if warnings:
        assert "il-central-1" in warnings[0].entry.data


def test_the_lock_roles_only_read_and_write_the_lock_key(synthesized) -> None:
    """The lock is never deleted and release reads nothing (pipeline_lambdas/run_lock.py)."""
    _, _, template = synthesized

    def grants(role: str) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for statement in _statements(template, role):
            for action in _actions(statement):
                if action.startswith("s3:"):
                    out.setdefault(action, set()).add(_text(statement["Resource"]))
        return out

    lock = next(iter(grants("Functionsreleaselockrole")["s3:PutObject"]))
    assert lock.endswith(".Arn>/locks/endpoint.lock")
    assert grants("Functionsacquirelockrole") == {"s3:GetObject": {lock},
                                                  "s3:PutObject": {lock}}
    assert grants("Functionsreleaselockrole") == {"s3:PutObject": {lock}}


def test_account_wide_names_differ_between_regions(synthesized, tmp_path_factory) -> None:
    """IAM roles and managed policies and CloudWatch dashboards are named per account, not per
    region: the same environment deployed to a second region must not reuse a name."""
    region, _, template = synthesized
    other = next(r for r in REGIONS if r != region)
    _, elsewhere = synth(tmp_path_factory, region=other)

    def names(t) -> dict[str, set[str]]:
        return {kind: {str(r["Properties"][prop]) for r in _resources(t, kind).values()
                       if prop in r["Properties"]}
                for kind, prop in (("AWS::IAM::Role", "RoleName"),
                                   ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"),
                                   ("AWS::CloudWatch::Dashboard", "DashboardName"))}

    here, there = names(template), names(elsewhere)
    assert not here["AWS::IAM::Role"] and not here["AWS::IAM::ManagedPolicy"]  # CFN names them
    assert here["AWS::CloudWatch::Dashboard"] == {f"calltime-dev-{region}"}
    for kind in here:
        assert not here[kind] & there[kind], kind


def test_every_distributed_maps_gathered_results_fit_the_state_whatever_its_item_count(
        synthesized) -> None:
    """Step Functions gathers every child execution's output into a Distributed Map's result
    and holds it to the 256 KB state limit even when the Map discards it (ResultPath null;
    aws/aws-cdk#24799), unless a ResultWriter exports it. So each child must end in a constant
    of a few bytes: the plan that lists the items fits the state (PlanTraining's limit), at
    least two bytes an item, and gathers no more than its own size again."""
    import json

    from pipeline_lambdas.plan_training import PLAN_LIMIT_BYTES

    _, _, template = synthesized
    maps = {n: s for n, s in _definition(template)["States"].items()
            if s["Type"] == "Map" and s["ItemProcessor"]["ProcessorConfig"]["Mode"] ==
            "DISTRIBUTED"}
    assert set(maps) == {"PartitionParts", "MergeBuckets", "CountBuckets"}
    for name, state in maps.items():
        if "ResultWriter" in state:
            continue
        children = state["ItemProcessor"]["States"]
        ends = [s for s in children.values() if s.get("End") and s["Type"] != "Fail"]
        assert ends, name
        for end in ends:  # a constant output: a Pass of a Result, nothing kept of the input
            assert end["Type"] == "Pass" and "Result" in end, (name, end)
            assert not {"ResultPath", "OutputPath", "Parameters"} & set(end), (name, end)
        output = max(len(json.dumps(end["Result"])) for end in ends)
        most_items = PLAN_LIMIT_BYTES // 2
        assert most_items * (output + 1) + 2 < 256 * 1024, name


def test_a_failed_map_item_records_itself_for_name_failed_item(synthesized) -> None:
    """A child whose worker fails (after its memory retry) writes its input and error where
    NameFailedItem reads, then fails with the worker's own error; every Map's failure goes
    through NameFailedItem, whose own failure keeps the Map's error."""
    _, _, template = synthesized
    states = _definition(template)["States"]
    for name in ("PartitionParts", "MergeBuckets", "CountBuckets"):
        children = states[name]["ItemProcessor"]["States"]
        worker = children[states[name]["ItemProcessor"]["StartAt"]]
        assert [r["ErrorEquals"] for r in worker["Retry"]][-1] == ["Runtime.OutOfMemory",
                                                                  "Lambda.Unknown"]
        (catch,) = worker["Catch"]
        record = children[catch["Next"]]
        assert record["Resource"].endswith(":states:::aws-sdk:s3:putObject")
        assert record["Parameters"]["Key.$"].startswith(
            f"States.Format('{{}}failures/{name}/{{}}.json', $.work_prefix, ")
        assert record["Parameters"]["Body.$"] == "States.JsonToString($)"
        failed = children[record["Next"]]
        assert failed == {"Type": "Fail", "ErrorPath": "$.failure.Error",
                          "CausePath": "$.failure.Cause"}
        assert record["Catch"][0]["Next"] == record["Next"]
        assert states[name]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                                          "Next": "NameFailedItem"}]
    named = states["NameFailedItem"]
    assert named["ResultPath"] == "$.error" and named["Next"] == "OutcomeFailed"
    assert named["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.name_error",
                               "Next": "OutcomeFailed"}]
    # The state machine's role may write those records and nothing else of the work area.
    writes = [s for s in _statements(template, "PipelineStateMachineRoleDefaultPolicy")
              if "s3:PutObject" in _actions(s)]
    written = sorted(_text(r) for s in writes for r in (
        s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]))
    assert [w.split(">", 1)[1] for w in written] == sorted(
        f"/work/*/failures/{n}/*" for n in ("PartitionParts", "MergeBuckets", "CountBuckets"))
    assert all(w.startswith("<StorageModels") for w in written)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_cold_start_alarm_fires_on_what_an_operator_must_act_on_not_on_normal_ones(
        tmp_path_factory, env) -> None:
    """A serverless cold start of 10-15 s is normal (AWS; docs/operating.md); SageMaker gives model
    download and /ping 3 minutes before the container fails. The alarm must stay quiet on a
    normal cold start and fire with time left before that limit."""
    _, template = synth(tmp_path_factory, env=env)
    alarm = _alarm(template, "cold-start").copy() if env == "dev" else next(
        a["Properties"] for a in _resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"].endswith("-cold-start"))
    assert alarm["MetricName"] == "ModelSetupTime" and alarm["Statistic"] == "Maximum"
    normal, limit = 15 * 1_000_000, 180 * 1_000_000  # microseconds, as the metric
    assert normal < alarm["Threshold"] <= limit / 2
    assert "3-minute" in alarm["AlarmDescription"]  # the reason is next to the threshold


def _quota_warnings(stack) -> list[str]:
    return [w.entry.data for w in Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("new AWS accounts"))]


def test_synth_warns_of_the_lambda_quotas_a_new_account_starts_with(synthesized,
                                                                    tmp_path_factory) -> None:
    """A new account's Lambda allows 3,008 MB a function and 10 concurrent executions (AWS
    raises them with use): the 4,096 MB training functions fail to deploy there, and a map
    concurrency of 100 is throttled. Synth says so, naming what to raise."""
    _, stack, _ = synthesized
    (memory,) = [w for w in _quota_warnings(stack) if "3,008 MB" in w]
    assert "training_memory_mb=4096" in memory and "Service Quotas" in memory
    (concurrency,) = [w for w in _quota_warnings(stack) if "concurrent executions" in w]
    assert "scale_out_concurrency=100" in concurrency and "L-B99A9384" in concurrency
    within, _ = synth(tmp_path_factory, training_memory_mb=3008, scale_out_concurrency=10)
    assert _quota_warnings(within) == []
