"""calltime's AWS CDK app: storage, model hosting and IAM, the pipeline, schedule, monitoring."""
