"""A kept template that is damaged is synthesized again and replaced, named, never a
traceback (local_pipeline/templates.py)."""

from __future__ import annotations

import json

import pytest

from local_pipeline import templates


@pytest.mark.parametrize("damage", [b"", b'{"template": {"Resou', b"[1, 2]", b"\xff\xfe\x00",
                                    b'{"template": [], "stack_name": "s", "region": "r"}'])
def test_a_damaged_kept_template_is_synthesized_again(tmp_path, monkeypatch, capsys,
                                                       damage: bytes) -> None:
    monkeypatch.setenv("CALLTIME_CACHE", str(tmp_path / "cache"))
    cached = templates.cache_dir() / f"{templates.key('local', {})}.json"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(damage)
    made = {"template": {"Resources": {}}, "stack_name": "calltime-local", "region": "il-central-1"}

    class App:  # stands in for the CDK app: what synthesizing would give
        def synth(self):
            return type("Assembly", (), {"get_stack_by_name": lambda _, name: type(
                "Stack", (), {"template": made["template"]})()})()

    stack = type("Stack", (), {"stack_name": made["stack_name"],
                               "settings": type("S", (), {"region": made["region"]})()})()
    monkeypatch.setattr("infra.app.build_app", lambda context, outdir: (App(), stack))
    assert templates.synthesized(tmp_path / "out", "local") == (
        made["template"], made["stack_name"], made["region"])
    assert f"{cached}: a damaged synthesized template" in capsys.readouterr().err
    assert json.loads(cached.read_text()) == made  # replaced whole
