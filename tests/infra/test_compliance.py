"""cdk-nag AwsSolutions finds nothing unacknowledged; cfn-lint finds no error."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import lint

from infra.app import build_app
from infra.settings import load
from infra.stack import CalltimeStack
from tests.support.stacks import REGIONS


@pytest.mark.slow
@pytest.mark.parametrize("region", REGIONS)
def test_synth_passes_aws_solutions_and_cfn_lint(region: str, tmp_path) -> None:
    app, stack = build_app({"env": "dev", "account": "111122223333", "region": region},
                           outdir=str(tmp_path))
    assembly = app.synth()  # raises if cdk-nag reports an unacknowledged finding
    template = assembly.get_stack_by_name(stack.stack_name).template
    errors = [m for m in lint(json.dumps(template), regions=[region])
              if m.rule.id.startswith("E")]
    assert errors == []


def test_the_nag_plugin_is_active_and_acknowledgements_are_narrow(tmp_path) -> None:
    """An extra, non-compliant bucket in the same app fails synthesis: the pack is really
    checking, and the stack's acknowledgements do not reach resources they were not for."""
    app = cdk.App(outdir=str(tmp_path))
    stack = CalltimeStack(app, "calltime-dev", load({"env": "dev"}),
                          env=cdk.Environment(account="111122223333", region="us-east-1"))
    s3.Bucket(stack, "Careless")  # no access logs, no SSL enforcement
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed") as failed:
        app.synth()
    # The report names exactly the careless bucket's two findings, nothing of the stack's own.
    report = json.loads(Path(re.search(r"found in: (\S+\.json)", str(failed.value)).group(1))
                        .read_text())
    violations = {(v["ruleName"], c["constructPath"]) for plugin in report["pluginReports"]
                  for v in plugin["violations"] for c in v["violatingConstructs"]}
    assert violations == {("AwsSolutions-S1", "calltime-dev/Careless/Resource"),
                          ("AwsSolutions-S10", "calltime-dev/Careless/Resource")}


def test_every_acknowledgement_has_a_reason() -> None:
    app, _ = build_app({"env": "dev", "account": "111122223333", "region": "us-east-1"})
    found = {}
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == "aws:cdk:acknowledged-rules":
                found.update(entry.data)
    assert len(found) >= 10
    for rule, reason in found.items():
        assert rule.startswith(("AwsSolutions::AwsSolutions-", "CloudFormation-Validate::")), rule
        assert len(reason) > 60, (rule, reason)
