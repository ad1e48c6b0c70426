"""The local IAM decides as AWS's policy evaluation logic does."""

from __future__ import annotations

import pytest

from localaws.iam import Decision, PolicyError, Principal, Request, evaluate

ROLE = Principal("arn:aws:sts::123456789012:assumed-role/calltime-dev-train-fn/train",
                 account="123456789012")
BUCKET = "arn:aws:s3:::models"


def _allow(action, resource, condition=None) -> dict:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def _decide(action, resource, identity, resource_policy=(), **context) -> Decision:
    return evaluate(Request(ROLE, action, resource, context), identity, list(resource_policy))


def test_an_action_is_allowed_only_on_the_resources_granted() -> None:
    policy = [_allow(["s3:GetObject", "s3:PutObject"], f"{BUCKET}/staging/*")]
    assert _decide("s3:GetObject", f"{BUCKET}/staging/v1/model.tar.gz", policy) \
        is Decision.ALLOWED
    assert _decide("s3:getobject", f"{BUCKET}/staging/x", policy) is Decision.ALLOWED
    assert _decide("s3:GetObject", f"{BUCKET}/models/x", policy) is Decision.IMPLICIT_DENY
    assert _decide("s3:DeleteObject", f"{BUCKET}/staging/x", policy) is Decision.IMPLICIT_DENY
    # Resources are case-sensitive and their dots are not regular-expression wildcards.
    assert _decide("s3:GetObject", f"{BUCKET}/Staging/x", policy) is Decision.IMPLICIT_DENY
    dotted = [_allow("s3:GetObject", f"{BUCKET}/locks/endpoint.lock")]
    assert _decide("s3:GetObject", f"{BUCKET}/locks/endpointXlock", dotted) \
        is Decision.IMPLICIT_DENY


def test_a_condition_that_does_not_hold_leaves_the_statement_out_it_does_not_deny() -> None:
    policy = [_allow("iam:PassRole", "arn:aws:iam::123456789012:role/exec",
                     {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}),
              _allow("iam:PassRole", "*", {"StringEquals": {"iam:PassedToService":
                                                            "lambda.amazonaws.com"}})]
    role = "arn:aws:iam::123456789012:role/exec"
    assert _decide("iam:PassRole", role, policy,
                   **{"iam:PassedToService": "sagemaker.amazonaws.com"}) is Decision.ALLOWED
    assert _decide("iam:PassRole", role, policy,
                   **{"iam:PassedToService": "ec2.amazonaws.com"}) is Decision.IMPLICIT_DENY
    assert _decide("iam:PassRole", role, policy) is Decision.IMPLICIT_DENY  # key absent


def test_list_bucket_is_scoped_by_prefix() -> None:
    policy = [_allow("s3:ListBucket", BUCKET, {"StringLike": {"s3:prefix": ["data/*"]}})]
    assert _decide("s3:ListBucket", BUCKET, policy, **{"s3:prefix": "data/calls/"}) \
        is Decision.ALLOWED
    assert _decide("s3:ListBucket", BUCKET, policy, **{"s3:prefix": "locks/"}) \
        is Decision.IMPLICIT_DENY


def test_an_explicit_deny_in_the_resource_policy_wins_over_any_allow() -> None:
    identity = [_allow("s3:*", f"{BUCKET}/*")]
    tls_only = [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
                 "Resource": [BUCKET, f"{BUCKET}/*"],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]
    assert _decide("s3:GetObject", f"{BUCKET}/k", identity, tls_only,
                   **{"aws:SecureTransport": "false"}) is Decision.EXPLICIT_DENY
    assert _decide("s3:GetObject", f"{BUCKET}/k", identity, tls_only,
                   **{"aws:SecureTransport": "true"}) is Decision.ALLOWED


def test_negated_operators_hold_when_the_key_is_absent_if_exists_too() -> None:
    deny_outside = [_allow("s3:GetObject", "*"),
                    {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                     "Condition": {"StringNotEquals": {"aws:SourceVpc": "vpc-1"}}}]
    assert _decide("s3:GetObject", f"{BUCKET}/k", deny_outside) is Decision.EXPLICIT_DENY
    assert _decide("s3:GetObject", f"{BUCKET}/k", deny_outside, **{"aws:SourceVpc": "vpc-1"}) \
        is Decision.ALLOWED
    if_exists = [_allow("s3:GetObject", "*",
                        {"StringEqualsIfExists": {"s3:ExistingObjectTag/team": "calls"}})]
    assert _decide("s3:GetObject", f"{BUCKET}/k", if_exists) is Decision.ALLOWED
    assert _decide("s3:GetObject", f"{BUCKET}/k", if_exists,
                   **{"s3:ExistingObjectTag/team": "other"}) is Decision.IMPLICIT_DENY


def test_a_resource_policy_allows_only_the_principal_it_names() -> None:
    topic = "arn:aws:sns:il-central-1:123456789012:alerts"
    policy = [{"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
               "Action": "sns:Publish", "Resource": topic,
               "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"},
                             "ArnLike": {"aws:SourceArn":
                                         "arn:aws:cloudwatch:il-central-1:123456789012:alarm:"
                                         "calltime-dev-*"}}}]
    alarm = {"aws:SourceAccount": "123456789012",
             "aws:SourceArn": "arn:aws:cloudwatch:il-central-1:123456789012:alarm:calltime-dev-x"}
    cloudwatch = Principal(service="cloudwatch.amazonaws.com")
    assert evaluate(Request(cloudwatch, "sns:Publish", topic, alarm), [], policy) \
        is Decision.ALLOWED
    other_account = {**alarm, "aws:SourceAccount": "999999999999"}
    assert evaluate(Request(cloudwatch, "sns:Publish", topic, other_account), [], policy) \
        is Decision.IMPLICIT_DENY
    events = Principal(service="events.amazonaws.com")
    assert evaluate(Request(events, "sns:Publish", topic, alarm), [], policy) \
        is Decision.IMPLICIT_DENY


def test_an_operator_it_does_not_implement_is_refused_not_guessed() -> None:
    policy = [_allow("s3:GetObject", "*", {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})]
    with pytest.raises(PolicyError, match="IpAddress"):
        _decide("s3:GetObject", f"{BUCKET}/k", policy, **{"aws:SourceIp": "10.1.1.1"})


def test_a_resource_policy_naming_the_role_allows_its_sessions_naming_the_account_does_not(
        ) -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:alerts"
    by_role = [{"Effect": "Allow", "Action": "sns:Publish", "Resource": topic,
                "Principal": {"AWS": "arn:aws:iam::123456789012:role/calltime-dev-train-fn"}}]
    by_account = [{"Effect": "Allow", "Action": "sns:Publish", "Resource": topic,
                   "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}]
    assert evaluate(Request(ROLE, "sns:Publish", topic), [], by_role) is Decision.ALLOWED
    # Same account: a policy naming the account defers to the caller's own policies.
    assert evaluate(Request(ROLE, "sns:Publish", topic), [], by_account) \
        is Decision.IMPLICIT_DENY
    assert evaluate(Request(ROLE, "sns:Publish", topic), [_allow("sns:Publish", topic)],
                    by_account) is Decision.ALLOWED


def test_condition_keys_are_case_insensitive_and_what_it_cannot_read_is_refused() -> None:
    deny_plain = [_allow("s3:*", "*"),
                  {"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                   "Condition": {"Bool": {"aws:securetransport": "false"}}}]
    assert _decide("s3:GetObject", f"{BUCKET}/k", deny_plain,
                   **{"aws:SecureTransport": "false"}) is Decision.EXPLICIT_DENY
    with pytest.raises(PolicyError, match="Effect"):
        _decide("s3:GetObject", f"{BUCKET}/k", [{"Effect": "allow", "Action": "s3:*",
                                                 "Resource": "*"}])
    with pytest.raises(PolicyError, match="policy variables"):
        _decide("s3:GetObject", f"{BUCKET}/k", [_allow("s3:*", "arn:aws:s3:::b/${aws:userid}")])
