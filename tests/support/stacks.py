"""Synthesizing the CDK app in tests (offline; one outdir per synthesis)."""

from __future__ import annotations

import os

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
