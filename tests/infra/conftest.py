"""Synthesized stacks, once per region (Template.from_stack takes a second or two)."""

from __future__ import annotations

import os

import pytest
from aws_cdk.assertions import Template

from infra.app import build_app

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REGIONS = ("us-east-1", "il-central-1")


def synth(tmp_path_factory: pytest.TempPathFactory, **context):
    _, stack = build_app({"env": "dev", "account": "111122223333", **context},
                           outdir=str(tmp_path_factory.mktemp("cdk.out")))
    return stack, Template.from_stack(stack)


@pytest.fixture(scope="session", params=REGIONS)
def synthesized(request, tmp_path_factory):
    """(region, stack, template) for the dev settings in each region."""
    stack, template = synth(tmp_path_factory, region=request.param)
    return request.param, stack, template
