"""IAM policy evaluation, as AWS evaluates a request inside one account.

A request is (principal, action, resource, context keys). It is allowed when some identity-based
policy of the principal, or the resource's own policy, has an Allow statement that applies, and
no statement of either has an applicable Deny (AWS's policy evaluation logic for same-account
requests, without SCPs, boundaries or session policies, which calltime does not use).

A statement applies when its Action (or NotAction) matches the action, case-insensitively, its
Resource (or NotResource) matches the resource, case-sensitively, with `*` and `?` wildcards, its
Principal (resource policies) names the principal, and every condition holds. Conditions follow
the IAM reference: operators are ANDed, keys of one operator are ANDed, values of one key are
ORed (NORed for negated operators); a key absent from the request makes a condition false,
except for negated operators (true), `...IfExists` (true) and `Null`.

moto's evaluator (moto.iam.access_control) is not used: it treats a failed condition on an
Allow as an explicit deny, matches actions case-sensitively and resources as unescaped regular
expressions. Operators calltime's templates do not use are refused (`PolicyError`), never
guessed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class PolicyError(ValueError):
    """A policy uses something this evaluator does not implement; the message names it."""


class Decision(Enum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "no policy allows it"


@dataclass(frozen=True)
class Principal:
    """Who asks: a role (arn) or a service ("cloudwatch.amazonaws.com")."""

    arn: str = ""
    service: str = ""
    account: str = ""


@dataclass(frozen=True)
class Request:
    principal: Principal
    action: str  # "s3:GetObject"
    resource: str  # an ARN, or "*"
    context: dict[str, str | list[str]] = field(default_factory=dict)


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """A policy's wildcard pattern as a regex, built once (every call of every step is
    evaluated against the same few patterns)."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _compiled(pattern, ignore_case).fullmatch(value) is not None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _bool(value: str) -> str:
    return str(value).lower()


# operator -> (compare(policy value, request value), negated)
_OPERATORS = {
    "StringEquals": (lambda p, r: p == r, False),
    "StringNotEquals": (lambda p, r: p == r, True),
    "StringEqualsIgnoreCase": (lambda p, r: p.lower() == r.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda p, r: p.lower() == r.lower(), True),
    "StringLike": (lambda p, r: _wildcard(p, r), False),
    "StringNotLike": (lambda p, r: _wildcard(p, r), True),
    "ArnEquals": (lambda p, r: _wildcard(p, r), False),
    "ArnLike": (lambda p, r: _wildcard(p, r), False),
    "ArnNotEquals": (lambda p, r: _wildcard(p, r), True),
    "ArnNotLike": (lambda p, r: _wildcard(p, r), True),
    "Bool": (lambda p, r: _bool(p) == _bool(r), False),
}


def _condition_holds(operator: str, key: str, expected: Any,
                     context: dict[str, str | list[str]]) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    present = key in context
    if name == "Null":
        return all(_bool(value) == ("false" if present else "true")
                   for value in _as_list(expected))
    if name not in _OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise PolicyError(f"condition operator {operator} is not implemented by the local IAM")
    compare, negated = _OPERATORS[name]
    if not present:
        if qualifier == "ForAllValues":
            return True
        return if_exists or negated
    values = [str(v) for v in _as_list(context[key])]
    wanted = [str(v) for v in _as_list(expected)]

    def matches(value: str) -> bool:
        hit = any(compare(w, value) for w in wanted)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(matches(v) for v in values)
    return any(matches(v) for v in values)


def _conditions_hold(statement: dict[str, Any], context: dict[str, str | list[str]]) -> bool:
    """Condition key names are case-insensitive (their values are not)."""
    context = {key.lower(): value for key, value in context.items()}
    return all(_condition_holds(operator, key.lower(), expected, context)
               for operator, keys in statement.get("Condition", {}).items()
               for key, expected in keys.items())


def _element(statement: dict[str, Any], name: str, value: str, ignore_case: bool) -> bool:
    """Action/NotAction or Resource/NotResource; a statement without either matches all."""
    if name in statement:
        return any(_wildcard(p, value, ignore_case) for p in _as_list(statement[name]))
    if f"Not{name}" in statement:
        return not any(_wildcard(p, value, ignore_case)
                       for p in _as_list(statement[f"Not{name}"]))
    return name == "Resource"  # trust policies have no Resource


def _role_of(principal: Principal) -> str:
    """The role ARN behind an assumed-role session ARN ("" for anything else)."""
    if ":assumed-role/" not in principal.arn:
        return ""
    account, name = principal.arn.split(":")[4], principal.arn.split("/")[1]
    return f"arn:aws:iam::{account}:role/{name}"


def _names_principal(statement: dict[str, Any], principal: Principal) -> str:
    """How a statement's Principal names the caller: "self" (the caller, its role, anyone, or
    an identity-based policy, which has no Principal), "account" (only the caller's account:
    in AWS that delegates to the account's own policies) or "" (not at all)."""
    if "NotPrincipal" in statement:
        raise PolicyError("NotPrincipal is not implemented by the local IAM")
    named = statement.get("Principal")
    if named is None or named == "*":
        return "self"
    account = ""
    for kind, values in named.items():
        for value in _as_list(values):
            if kind == "AWS" and value in ("*", principal.arn, _role_of(principal)):
                return "self"
            if kind == "AWS" and principal.account and value in (
                    principal.account, f"arn:aws:iam::{principal.account}:root"):
                account = "account"
            if kind == "Service" and value == principal.service:
                return "self"
    return account


def _check(statement: dict[str, Any]) -> None:
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise PolicyError(f"Effect {statement.get('Effect')!r}: must be Allow or Deny")
    if "${" in str(statement.get("Resource", "")) + str(statement.get("Condition", "")):
        raise PolicyError("policy variables (${...}) are not implemented by the local IAM")


def _applies(statement: dict[str, Any], request: Request) -> str:
    """How the statement applies to the request ("" when it does not): see _names_principal."""
    _check(statement)
    if not (_element(statement, "Action", request.action, ignore_case=True)
            and _element(statement, "Resource", request.resource, ignore_case=False)):
        return ""
    named = _names_principal(statement, request.principal)
    if named and _conditions_hold(statement, request.context):
        return named
    return ""


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return _as_list(document.get("Statement", []))


def evaluate(request: Request, identity: list[dict[str, Any]],
             resource_policy: list[dict[str, Any]] = ()) -> Decision:
    """The decision for `request` under the principal's identity-based statements and the
    resource's policy statements (same account: an Allow in either suffices)."""
    allowed = False
    for statement in [*identity, *resource_policy]:
        applies = _applies(statement, request)
        if not applies:
            continue
        if statement["Effect"] == "Deny":
            return Decision.EXPLICIT_DENY
        # A resource policy that allows the account (not the caller) leaves the decision to
        # the caller's own policies.
        allowed = allowed or applies == "self"
    return Decision.ALLOWED if allowed else Decision.IMPLICIT_DENY

