# The pipeline's Lambda functions: one image, one CMD per step (set by the CDK app).
# Built by `cdk deploy` (Docker needed there, not for synth or tests). Versions come from the
# project's lock, constraints.txt, so the function trains with the scikit-learn the serving
# container runs (1.9.0 for sagemaker-scikit-learn:1.9-0) and the powertools the tests ran.
FROM public.ecr.aws/lambda/python:3.11

COPY constraints.txt /tmp/constraints.txt
RUN pip install --no-cache-dir -c /tmp/constraints.txt \
        scikit-learn numpy pandas pyarrow tzdata boto3 "aws-lambda-powertools[tracer]" \
    && rm /tmp/constraints.txt

COPY training/ ${LAMBDA_TASK_ROOT}/training/
COPY inference_code/ ${LAMBDA_TASK_ROOT}/inference_code/
COPY pipeline_lambdas/ ${LAMBDA_TASK_ROOT}/pipeline_lambdas/

CMD ["pipeline_lambdas.train_step.handler"]
