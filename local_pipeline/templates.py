"""Synthesized templates, kept: synthesizing the CDK app takes about ten seconds of a fresh
process (the jsii kernel's Node start, the constructs, cdk-nag), and the same sources and
settings always synthesize the same template. The key is every file the template depends on
(the CDK app, the steps and the code the functions' image is built from, the pins) with the
libraries' versions and the settings, so any change synthesizes again.

    .cache/templates/<key>.json    {"template", "stack_name", "region"}
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[1]
# What the template depends on: the app, what it imports, what its image asset hashes.
SOURCES = ("infra", "pipeline_lambdas", "training", "inference_code")
SOURCE_SUFFIXES = (".py", ".json", ".txt", ".Dockerfile")
PINS = ("constraints.txt",)
LIBRARIES = ("aws-cdk-lib", "constructs", "cdk-nag", "sagemaker-core", "jsii")


def cache_dir() -> Path:
    return Path(os.environ.get("CALLTIME_CACHE", REPOSITORY / ".cache")) / "templates"


def key(env: str, context: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    for folder in SOURCES:
        for path in sorted((REPOSITORY / folder).rglob("*")):
            if path.is_file() and path.name.endswith(SOURCE_SUFFIXES) and \
                    "node_modules" not in path.parts and "cdk.out" not in path.parts:
                digest.update(str(path.relative_to(REPOSITORY)).encode() + b"\0")
                digest.update(path.read_bytes())
    for pin in PINS:
        digest.update((REPOSITORY / pin).read_bytes())
    for library in LIBRARIES:
        digest.update(f"{library}=={metadata.version(library)}".encode())
    digest.update(json.dumps({"env": env, **context}, sort_keys=True).encode())
    return digest.hexdigest()[:32]


def _read(cached: Path) -> dict[str, Any] | None:
    """A kept template, or None when there is none or it is damaged (truncated, not JSON, not
    the shape written): synthesized again and replaced, with a line saying which file."""
    if not cached.is_file():
        return None
    try:
        found = json.loads(cached.read_text())
        if isinstance(found, dict) and isinstance(found.get("template"), dict) and \
                isinstance(found.get("stack_name"), str) and isinstance(found.get("region"), str):
            return found
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        pass
    print(f"{cached}: a damaged synthesized template; synthesizing again", file=sys.stderr)
    return None


def synthesized(out: Path, env: str, context: dict[str, Any] | None = None
                ) -> tuple[dict[str, Any], str, str]:
    """(template, stack name, region) of the CDK app for `env` and `context`, from the cache
    when these sources were synthesized with these settings before, else synthesized (into
    out/cdk.out) and kept. The template is written to out/cdk.out either way."""
    context = dict(context or {})
    cached = cache_dir() / f"{key(env, context)}.json"
    found = _read(cached)
    if found is None:
        from infra.app import build_app

        app, stack = build_app({"env": env, **context}, outdir=str(out / "cdk.out"))
        template = app.synth().get_stack_by_name(stack.stack_name).template
        found = {"template": template, "stack_name": stack.stack_name,
                 "region": stack.settings.region or "us-east-1"}
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=cached.parent, delete=False,
                                         suffix=".writing") as staging:
            json.dump(found, staging)
        Path(staging.name).replace(cached)  # whole or not at all
    written = out / "cdk.out" / f"{found['stack_name']}.template.json"
    if not written.is_file():
        written.parent.mkdir(parents=True, exist_ok=True)
        written.write_text(json.dumps(found["template"], indent=1))
    return found["template"], found["stack_name"], found["region"]
