"""The `make pipeline` demo: synthesize the CDK app, stand it up on the local runtime
(`localaws`), run its state machine for a scenario and summarize the run."""
