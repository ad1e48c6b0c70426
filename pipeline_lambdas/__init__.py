"""The Step Functions pipeline's Lambda steps (one module per step)."""
