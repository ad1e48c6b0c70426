"""Check an emulated response against botocore's output shape for the real API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import botocore.session


def check_output(service: str, operation: str, response: dict[str, Any]) -> None:
    model = botocore.session.get_session().get_service_model(service)
    shape = model.operation_model(operation).output_shape
    _check(shape, {k: v for k, v in response.items() if k != "ResponseMetadata"}, operation)


def _check(shape, value: Any, path: str) -> None:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(value, dict), f"{path}: expected an object"
        unknown = set(value) - set(shape.members)
        assert not unknown, f"{path}: members not in the API: {unknown}"
        for name in shape.required_members:
            assert name in value, f"{path}: required member {name} missing"
        for name, member in value.items():
            _check(shape.members[name], member, f"{path}.{name}")
    elif kind == "list":
        assert isinstance(value, list), f"{path}: expected a list"
        for i, item in enumerate(value):
            _check(shape.member, item, f"{path}[{i}]")
    elif kind == "string":
        assert isinstance(value, str), f"{path}: expected a string, got {value!r}"
        if shape.enum:
            assert value in shape.enum, f"{path}: {value!r} not in {shape.enum}"
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: not an integer"
    elif kind == "timestamp":
        assert isinstance(value, dt.datetime), f"{path}: not a timestamp"
    elif kind == "blob":
        assert hasattr(value, "read") or isinstance(value, bytes), f"{path}: not a blob"
