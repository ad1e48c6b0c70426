"""Synthesizing the CDK app in tests (offline; one outdir per synthesis)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import build_app

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REGIONS = ("us-east-1", "il-central-1")


def synth(tmp_path_factory: pytest.TempPathFactory, **context):
    """(stack, Template) for the dev settings with `context` over them."""
    _, stack = build_app({"env": "dev", "account": "111122223333", **context},
                         outdir=str(tmp_path_factory.mktemp("cdk.out")))
    return stack, Template.from_stack(stack)


def definition(template: dict[str, Any]) -> dict[str, Any]:
    """The state machine's ASL from a synthesized template (each token in it read as "ARN")."""
    machine = next(r for r in template["Resources"].values()
                   if r["Type"] == "AWS::StepFunctions::StateMachine")
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    # CDK writes the quotes around a token, or the token inside a longer string ("arn:" + Ref
    # AWS::Partition + ":states:::..."): either way the bare word keeps the JSON valid.
    return json.loads("".join(p if isinstance(p, str) else "ARN" for p in parts))


@dataclass(frozen=True)
class LocalStack:
    """The `env=local` stack as a local run stands it up: its template (synthesized once for
    these sources and settings, local_pipeline/templates.py), name and settings."""

    template: dict[str, Any]
    stack_name: str
    settings: Any


def local_stack(out, **context) -> LocalStack:
    from infra.settings import load
    from local_pipeline.templates import synthesized

    template, stack_name, _ = synthesized(out, "local", context)
    return LocalStack(template, stack_name, load({"env": "local", **context}))
