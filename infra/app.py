"""The CDK app: `cdk synth|diff|deploy -c env=<name>` (see infra/settings.py).

Run from infra/ by the CDK CLI (cdk.json), or imported: `build_app({"env": "local"})`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.settings import DeploySettings, load
from infra.stack import CalltimeStack
from pipeline_lambdas.errors import SettingsError


def build_app(context: Mapping[str, Any] | None = None, outdir: str | None = None
              ) -> tuple[cdk.App, CalltimeStack]:
    # Context given here (not cdk.json's, which also holds CDK's own flags) is all settings: a
    # misspelt one must not be ignored.
    unknown = sorted(set(context or {}) - {"env", *DeploySettings.__dataclass_fields__})
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)} (known: env, "
                            f"{', '.join(sorted(DeploySettings.__dataclass_fields__))})")
    app = cdk.App(context=dict(context or {}), outdir=outdir)
    settings = load(_context(app, context))
    account = settings.account or os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = settings.region or os.environ.get("CDK_DEFAULT_REGION")
    env = cdk.Environment(account=account, region=region) if region else None
    stack = CalltimeStack(app, settings.stack_name, settings, env=env)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def _context(app: cdk.App, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Context from cdk.json / `-c` (through the app's node) and from the caller."""
    keys = ["env", *DeploySettings.__dataclass_fields__]
    found = {k: app.node.try_get_context(k) for k in keys}
    found.update(given or {})
    return {k: v for k, v in found.items() if v is not None}


def main() -> int:
    try:
        app, _ = build_app()
    except SettingsError as err:
        print(f"calltime settings: {err}", file=sys.stderr)
        return 2
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
