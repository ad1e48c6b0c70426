"""calltime's AWS CDK app: storage, model hosting and IAM, the pipeline, schedule, monitoring."""

import os

# Node 20 works for synth here; jsii's end-of-life banner would otherwise print on every import.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# Before aws_cdk starts its jsii kernel: the runtime from the environment, not a temporary
# directory per process (one a killed process would leave behind).
from infra.jsii_runtime import install

install()
