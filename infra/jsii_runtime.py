"""The jsii runtime (the Node program behind aws-cdk-lib), written once into the virtual
environment instead of a new temporary directory for every process that synthesizes: a process
killed mid-synth (`kill -9` of `make pipeline`) then leaves nothing in /tmp. Set before aws_cdk
is first imported (infra/__init__.py). jsii reads JSII_RUNTIME, but unpacks its runtime into a
temporary directory first all the same (`environ.get("JSII_RUNTIME", self._jsii_runtime())`
evaluates its default): its unpacking step is given this runtime instead."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from importlib import metadata, resources
from pathlib import Path


def install() -> str:
    """The jsii runtime's entry point (JSII_RUNTIME when set, else written on first use under
    <venv>/share/); jsii is told to use it, and it is returned."""
    entry = os.environ.get("JSII_RUNTIME") or str(_unpacked())
    os.environ["JSII_RUNTIME"] = entry
    from jsii._kernel.providers import process

    process._NodeProcess._jsii_runtime = lambda self: entry
    return entry


def _unpacked() -> Path:
    import jsii._embedded.jsii as embedded

    target = Path(sys.prefix) / "share" / f"calltime-jsii-{metadata.version('jsii')}"
    entry = target / embedded.EMBEDDED_FILES[embedded.ENTRYPOINT]
    if not entry.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        for resource, name in embedded.EMBEDDED_FILES.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(resources.files(embedded).joinpath(resource).read_bytes())
        try:
            staging.rename(target)  # whole or not at all, whoever of two processes wins
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    return entry
