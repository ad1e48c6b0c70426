"""The local AWS runtime: what local runs and tests stand on instead of an AWS account."""
