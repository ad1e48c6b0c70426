"""Standing a synthesized template up locally: intrinsics resolve, gaps are named."""

from __future__ import annotations

import json

import pytest

from localaws.template import TemplateError, load

TEMPLATE = {
    "Mappings": {"Images": {"il-central-1": {"image": "img-il"}}},
    "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alerts"}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "exec"}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": "stack-train", "MemorySize": 512, "Timeout": 60,
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "ImageConfig": {"Command": ["pipeline_lambdas.train_step.handler"]},
            "Environment": {"Variables": {
                "BUCKET": {"Ref": "Bucket"}, "TOPIC": {"Ref": "Topic"},
                "ROLE": {"Fn::GetAtt": ["Role", "Arn"]},
                "IMAGE": {"Fn::FindInMap": ["Images", {"Ref": "AWS::Region"}, "image"]},
                "URI": {"Fn::Sub": "s3://${Bucket}/data/${AWS::Region}"},
                "FIRST": {"Fn::Select": [0, {"Fn::Split": [".", "a.b.c"]}]}}}}},
        "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "StateMachineName": "stack-retraining", "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            "DefinitionString": {"Fn::Join": ["", [
                '{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"',
                {"Fn::GetAtt": ["Fn", "Arn"]}, '","End":true}}}']]}}},
        "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
        "Dashboard": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {}},
    },
    "Outputs": {"Bucket": {"Value": {"Ref": "Bucket"}}},
}


def test_functions_environment_and_definition_resolve() -> None:
    stack = load(TEMPLATE, "stack", "il-central-1", "123456789012")
    (function,) = stack.functions.values()
    assert function.handler == "pipeline_lambdas.train_step:handler"
    assert (function.memory_mb, function.timeout_seconds) == (512, 60)
    assert function.role_arn == stack.state_machine_role_arn == \
        "arn:aws:iam::123456789012:role/exec"
    assert function.arn == "arn:aws:lambda:il-central-1:123456789012:function:stack-train"
    assert function.environment == {
        "BUCKET": "stack-bucket", "TOPIC": "arn:aws:sns:il-central-1:123456789012:alerts",
        "ROLE": "arn:aws:iam::123456789012:role/exec", "IMAGE": "img-il",
        "URI": "s3://stack-bucket/data/il-central-1", "FIRST": "a"}
    definition = json.loads(stack.definition)
    assert definition["States"]["T"]["Resource"] == function.arn
    assert stack.state_machine_name == "stack-retraining"
    # Alarms are stood up (their state only: localaws/monitoring_state.py); a dashboard is not.
    assert stack.skipped == {"AWS::CloudWatch::Dashboard": 1}
    assert stack.outputs == {"Bucket": "stack-bucket"}


def test_a_region_missing_from_a_mapping_is_named() -> None:
    with pytest.raises(TemplateError, match="us-west-2 is not in the mapping"):
        load(TEMPLATE, "stack", "us-west-2", "123456789012")


def test_functions_that_disagree_on_the_shared_environment_are_refused() -> None:
    template = json.loads(json.dumps(TEMPLATE))
    other = json.loads(json.dumps(template["Resources"]["Fn"]))
    other["Properties"]["FunctionName"] = "stack-other"
    other["Properties"]["Environment"]["Variables"]["FIRST"] = "z"
    template["Resources"]["Other"] = other
    stack = load(template, "stack", "il-central-1", "123456789012")
    with pytest.raises(TemplateError, match="functions disagree on FIRST"):
        _ = stack.environment
