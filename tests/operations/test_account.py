"""The operator commands find the deployed stack's bucket, endpoint and state machine from the
outputs the synthesized template really declares."""

from __future__ import annotations

import pytest

from operations.account import NotFound, output
from tests.support.stacks import synth


def test_every_output_the_commands_read_is_declared_by_the_stack(tmp_path_factory) -> None:
    _, template = synth(tmp_path_factory)
    declared = template.to_json()["Outputs"]
    outputs = {key: f"value-of-{key}" for key in declared}  # as DescribeStacks lists them
    for name in ("models_bucket_name", "endpoint_name", "state_machine_arn"):
        assert output(outputs, name) == f"value-of-{name.replace('_', '')}"
    with pytest.raises(NotFound, match=r"no output 'bucket' .is it calltime's"):
        output(outputs, "bucket")
