"""Synthesized stacks, once per region (Template.from_stack takes a second or two)."""

from __future__ import annotations

import pytest

from tests.support.stacks import REGIONS, synth


@pytest.fixture(scope="session", params=REGIONS)
def synthesized(request, tmp_path_factory):
    """(region, stack, template) for the dev settings in each region."""
    stack, template = synth(tmp_path_factory, region=request.param)
    return request.param, stack, template
