"""Clients made at a handler module's import (Lambda's INIT) inside a Lambda environment only."""

from __future__ import annotations

import boto3

from pipeline_lambdas import clients


def test_clients_are_made_at_init_only_inside_a_lambda_environment(monkeypatch) -> None:
    monkeypatch.setattr(clients, "_cache", {})
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "il-central-1")
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    clients.at_init("s3")
    assert clients._cache == {}
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "calltime-local-partition")
    clients.at_init("s3")
    made = clients._cache[(id(boto3.DEFAULT_SESSION), "s3")]
    assert clients.client("s3") is made  # the handler's call gets the one made at INIT
