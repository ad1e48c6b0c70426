# The pipeline's Lambda functions: one image, one CMD per step (set by the CDK app).
# Built by `cdk deploy` (Docker needed there, not for synth or tests). The base is Amazon Linux
# 2023 with Python 3.12, as the scikit-learn serving image: the pinned numpy, scipy,
# scikit-learn and pyarrow publish no wheels for python:3.11's Amazon Linux 2 (glibc 2.26).
# Versions come from the project's lock, constraints.txt, so the function trains with the
# scikit-learn the serving container runs (1.9.0 for sagemaker-scikit-learn:1.9-0) and the
# Powertools the tests ran; --only-binary makes a missing wheel fail the build at once.
FROM public.ecr.aws/lambda/python:3.12

COPY constraints.txt infra/lambda-requirements.txt /tmp/
RUN pip install --no-cache-dir --only-binary=:all: -c /tmp/constraints.txt \
        -r /tmp/lambda-requirements.txt \
    && rm /tmp/constraints.txt /tmp/lambda-requirements.txt

COPY training/ ${LAMBDA_TASK_ROOT}/training/
COPY inference_code/ ${LAMBDA_TASK_ROOT}/inference_code/
COPY pipeline_lambdas/ ${LAMBDA_TASK_ROOT}/pipeline_lambdas/

CMD ["pipeline_lambdas.train_step.handler"]
