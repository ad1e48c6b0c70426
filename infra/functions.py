"""The pipeline's Lambda functions: one container image, one function and one role per step.

Every function runs a handler from `pipeline_lambdas/` (the image's CMD names it), logs to its
own log group, traces to X-Ray, and may do exactly what its step does: the grants below are the
whole of each role.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.hosting import ModelHosting
from infra.nag import acknowledge, wildcard
from infra.settings import DeploySettings, retention
from infra.storage import ModelStorage
from pipeline_lambdas import contract as c
from training import footprint

REPO_ROOT = Path(__file__).resolve().parents[1]
# The image's build context is the repository; only what the Dockerfile copies is sent.
IMAGE_CONTEXT = ["*", "!infra/lambda.Dockerfile", "!infra/lambda-requirements.txt",
                 "!constraints.txt", "!training/**",
                 "!inference_code/**", "!pipeline_lambdas/**", "**/__pycache__"]


@dataclass(frozen=True)
class Step:
    key: str  # function name suffix and construct id
    handler: str  # module.function in pipeline_lambdas
    description: str
    memory_mb: int = 512
    timeout_minutes: int = 1


STEPS = (
    Step("acquire-lock", "pipeline_lambdas.run_lock.acquire_handler",
         "Validate the run input and take the endpoint lock (one run at a time)."),
    Step("train", "pipeline_lambdas.train_step.handler",
         "Validate the call log, train, evaluate against the live model, stage the artifact."),
    Step("plan-training", "pipeline_lambdas.plan_training.handler",
         "List the call log's parts, estimate its rows, choose one function or the scale-out."),
    Step("partition", "pipeline_lambdas.partition_step.handler",
         "Scale-out: validate one part, split its rows by contact bucket."),
    Step("merge-bucket", "pipeline_lambdas.bucket_steps.merge_handler",
         "Scale-out: merge one bucket's pieces, reject duplicates across parts."),
    Step("global-cut", "pipeline_lambdas.global_cut.handler",
         "Scale-out: the temporal cut from every bucket's call times."),
    Step("count-bucket", "pipeline_lambdas.bucket_steps.count_handler",
         "Scale-out: one bucket's contacts' hour counts for the global parameters."),
    Step("train-sample", "pipeline_lambdas.train_sample_step.handler",
         "Scale-out: fit the global parameters, train and evaluate, stage the artifact."),
    Step("name-failed-item", "pipeline_lambdas.failed_item.handler",
         "Scale-out: name the map item that failed, from the record its child execution left."),
    Step("package", "pipeline_lambdas.package_step.handler",
         "Publish the staged model.tar.gz under models/optimal-call-time/<version>/."),
    Step("quality-gate", "pipeline_lambdas.quality_gate.handler",
         "Deploy only if the new model is not worse than the live one."),
    Step("create-model", "pipeline_lambdas.endpoint_config.handler",
         "Create the versioned SageMaker Model and serverless EndpointConfig."),
    Step("deploy", "pipeline_lambdas.deployment.deploy_handler",
         "Create or update the endpoint.",
         timeout_minutes=6),  # replacing a Failed endpoint waits for its deletion
    Step("check-endpoint", "pipeline_lambdas.deployment.check_handler",
         "One DescribeEndpoint: in service, in progress, kept previous or failed."),
    Step("health-check", "pipeline_lambdas.health.handler",
         "Invoke the endpoint with both request formats and check the answers.",
         timeout_minutes=6),  # a cold start may take SageMaker's 3-minute setup limit
    Step("rollback", "pipeline_lambdas.rollback.handler",
         "Restore the previous endpoint config and wait until it answers again.",
         timeout_minutes=15),
    Step("cleanup", "pipeline_lambdas.cleanup.handler",
         "Record the live model in SSM; delete old models and configs."),
    Step("notify", "pipeline_lambdas.notify.handler", "Publish the run's outcome once."),
    Step("release-lock", "pipeline_lambdas.run_lock.release_handler",
         "Release the endpoint lock if this run holds it."),
)


# Steps that hold call rows: the train function's memory, timeout and disk.
TRAINING_STEPS = ("train", "partition", "merge-bucket", "global-cut", "count-bucket",
                  "train-sample")


class PipelineFunctions(Construct):
    def __init__(self, scope: Construct, construct_id: str, settings: DeploySettings,
                 storage: ModelStorage, hosting: ModelHosting, image_uri: str,
                 topic_arn: str, live_model_parameter: str) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.live_model_parameter_arn = stack.format_arn(
            service="ssm", resource="parameter", resource_name=live_model_parameter.lstrip("/"))
        environment = {
            c.PROJECT_NAME_ENV: settings.project_name,
            c.ENVIRONMENT_ENV: settings.environment,
            c.MODELS_BUCKET_ENV: storage.bucket.bucket_name,
            c.CONTAINER_IMAGE_ENV: image_uri,
            c.EXECUTION_ROLE_ARN_ENV: hosting.execution_role.role_arn,
            c.MEMORY_SIZE_MB_ENV: str(settings.memory_size_mb),
            c.MAX_CONCURRENCY_ENV: str(settings.max_concurrency),
            c.QUALITY_GATE_TOLERANCE_ENV: str(settings.quality_gate_tolerance),
            c.HEALTH_MAX_LATENCY_MS_ENV: str(settings.health_max_latency_ms),
            c.VERSIONS_TO_KEEP_ENV: str(settings.versions_to_keep),
            c.TOPIC_ARN_ENV: topic_arn,
            c.LIVE_MODEL_PARAMETER_ENV: live_model_parameter,
            c.SCALE_OUT_ROWS_ENV: str(settings.scale_out_rows
                                      or footprint.rows_that_fit(settings.training_memory_mb)),
            c.SCALE_OUT_BUCKETS_ENV: str(settings.scale_out_buckets),
            c.TRAINING_MEMORY_MB_ENV: str(settings.training_memory_mb),
            "POWERTOOLS_SERVICE_NAME": f"{settings.prefix}-pipeline",
            "POWERTOOLS_METRICS_NAMESPACE": settings.project_name,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        self.metrics_service = environment["POWERTOOLS_SERVICE_NAME"]
        self.functions: dict[str, lambda_.Function] = {}
        self.roles: dict[str, iam.Role] = {}
        for step in STEPS:
            memory, timeout = step.memory_mb, cdk.Duration.minutes(step.timeout_minutes)
            if step.key in TRAINING_STEPS:
                memory = settings.training_memory_mb
                timeout = cdk.Duration.minutes(settings.training_timeout_minutes)
            name = f"{settings.prefix}-{step.key}"
            log_group = logs.LogGroup(self, f"{step.key}-logs",
                                      log_group_name=f"/aws/lambda/{name}",
                                      retention=retention(settings.log_retention_days),
                                      removal_policy=cdk.RemovalPolicy.DESTROY)
            role = iam.Role(self, f"{step.key}-role",
                            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                            description=f"calltime step '{step.key}': {step.description}")
            role.add_to_policy(iam.PolicyStatement(
                sid="OwnLogs", actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{log_group.log_group_arn}"]))
            function = lambda_.DockerImageFunction(
                self, step.key,
                function_name=name,
                description=step.description,
                code=lambda_.DockerImageCode.from_image_asset(
                    str(REPO_ROOT), file="infra/lambda.Dockerfile", cmd=[step.handler],
                    exclude=IMAGE_CONTEXT, ignore_mode=cdk.IgnoreMode.DOCKER,
                    platform=ecr_assets.Platform.LINUX_AMD64),
                architecture=lambda_.Architecture.X86_64,
                memory_size=memory,
                timeout=timeout,
                ephemeral_storage_size=cdk.Size.mebibytes(
                    2048 if step.key in TRAINING_STEPS else 512),
                environment=environment,
                role=role,
                log_group=log_group,
                tracing=lambda_.Tracing.ACTIVE,
            )
            self.functions[step.key] = function
            self.roles[step.key] = role
        self._grant(settings, storage, hosting)

    def _grant(self, settings: DeploySettings, storage: ModelStorage,
               hosting: ModelHosting) -> None:
        bucket = storage.bucket
        objects = storage.arn
        models, configs, endpoint = (hosting.model_arn_pattern, hosting.config_arn_pattern,
                                     hosting.endpoint_arn)

        def allow(step: str, actions: list[str], resources: list[str],
                  conditions: dict | None = None) -> None:
            self.roles[step].add_to_policy(iam.PolicyStatement(
                actions=actions, resources=resources, conditions=conditions))

        lock = objects(c.LOCK_KEY)
        data, staging = f"{c.DATA_PREFIX}*", f"{c.STAGING_PREFIX}*"
        artifacts, notifications = f"{c.MODELS_PREFIX}/*", f"{c.NOTIFICATIONS_PREFIX}*"
        # The lock is only ever written conditionally, never deleted (pipeline_lambdas/run_lock):
        # release writes with the ETag its acquire returned and reads nothing.
        allow("acquire-lock", ["s3:GetObject", "s3:PutObject"], [lock])
        # A lock whose owner is no longer running (stopped, timed out) is free at once: acquire
        # asks Step Functions about the owner's execution.
        executions = cdk.Stack.of(self).format_arn(
            service="states", resource="execution",
            resource_name=f"{settings.state_machine_name}:*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)
        allow("acquire-lock", ["states:DescribeExecution"], [executions])
        acknowledge(self.roles["acquire-lock"].node.find_child("DefaultPolicy"),
                    "DescribeExecution on this pipeline's own state machine's executions, "
                    "whose names are made per run: the lock's owner is one of them.",
                    wildcard(self, executions))
        allow("release-lock", ["s3:PutObject"], [lock])
        # Training reads the call logs (data/) and the live model's artifact, writes staging.
        allow("train", ["s3:ListBucket"], [bucket.bucket_arn],
              {"StringLike": {"s3:prefix": [data]}})
        allow("train", ["s3:GetObject"], [objects(data), objects(artifacts)])
        # Its outputs go up by upload_file, whose failed multipart upload is aborted: without
        # s3:AbortMultipartUpload, AccessDenied would stand in for the failure's real cause.
        allow("train", ["s3:PutObject", "s3:AbortMultipartUpload"], [objects(staging)])
        allow("train", ["sagemaker:DescribeEndpoint"], [endpoint])
        allow("train", ["sagemaker:DescribeEndpointConfig"], [configs])
        allow("train", ["sagemaker:DescribeModel"], [models])
        # Scale-out: data/ is read by the plan (sizes, footers) and the partitions; the run's
        # work area (work/<execution>/) is written and read by the map items and removed by
        # train-sample, which also stages like train.
        work = f"{c.WORK_PREFIX}*"
        for step, prefix in (("plan-training", data), ("merge-bucket", work),
                             ("global-cut", work), ("count-bucket", work),
                             ("train-sample", work)):
            allow(step, ["s3:ListBucket"], [bucket.bucket_arn],
                  {"StringLike": {"s3:prefix": [prefix]}})
        allow("plan-training", ["s3:GetObject"], [objects(data)])
        allow("partition", ["s3:GetObject"], [objects(data)])
        allow("partition", ["s3:PutObject", "s3:DeleteObject"], [objects(work)])
        for step in ("merge-bucket", "count-bucket"):
            allow(step, ["s3:GetObject", "s3:PutObject"], [objects(work)])
        allow("global-cut", ["s3:GetObject"], [objects(work)])
        allow("train-sample", ["s3:GetObject", "s3:DeleteObject"], [objects(work)])
        allow("train-sample", ["s3:GetObject"], [objects(artifacts)])
        allow("train-sample", ["s3:PutObject", "s3:AbortMultipartUpload"], [objects(staging)])
        allow("train-sample", ["sagemaker:DescribeEndpoint"], [endpoint])
        allow("train-sample", ["sagemaker:DescribeEndpointConfig"], [configs])
        allow("train-sample", ["sagemaker:DescribeModel"], [models])
        # The failed map items' records (the state machine writes them: infra/state_machine).
        failures = f"{c.WORK_PREFIX}*/{c.FAILURES_DIR}*"
        allow("name-failed-item", ["s3:ListBucket"], [bucket.bucket_arn],
              {"StringLike": {"s3:prefix": [failures]}})
        allow("name-failed-item", ["s3:GetObject"], [objects(failures)])
        allow("package", ["s3:GetObject"], [objects(staging), objects(artifacts)])
        allow("package", ["s3:PutObject"], [objects(artifacts)])
        allow("quality-gate", ["s3:GetObject"], [objects(artifacts)])
        allow("create-model", ["sagemaker:CreateModel", "sagemaker:DescribeModel",
                               "sagemaker:AddTags"], [models])
        allow("create-model", ["sagemaker:CreateEndpointConfig",
                               "sagemaker:DescribeEndpointConfig", "sagemaker:AddTags"], [configs])
        # What the endpoint serves before the run touches it: the rollback target, and a
        # deploy_version that is already live refused.
        allow("create-model", ["sagemaker:DescribeEndpoint"], [endpoint])
        allow("create-model", ["iam:PassRole"], [hosting.execution_role.role_arn],
              {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}})
        for step in ("deploy", "rollback"):
            allow(step, ["sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint",
                         "sagemaker:DescribeEndpoint", "sagemaker:DeleteEndpoint",
                         "sagemaker:AddTags"], [endpoint, configs])
        allow("rollback", ["sagemaker:InvokeEndpoint"], [endpoint])
        allow("check-endpoint", ["sagemaker:DescribeEndpoint"], [endpoint])
        allow("health-check", ["sagemaker:InvokeEndpoint"], [endpoint])
        allow("cleanup", ["sagemaker:DescribeEndpoint"], [endpoint])
        allow("cleanup", ["sagemaker:ListEndpointConfigs", "sagemaker:ListModels"], ["*"])
        allow("cleanup", ["sagemaker:DescribeEndpointConfig", "sagemaker:DeleteEndpointConfig"],
              [configs])
        allow("cleanup", ["sagemaker:DescribeModel", "sagemaker:DeleteModel"], [models])
        allow("cleanup", ["ssm:PutParameter"], [self.live_model_parameter_arn])
        # The once-only marker: claimed before Publish, deleted if Publish fails.
        allow("notify", ["s3:PutObject", "s3:DeleteObject"], [objects(notifications)])
        # The stack's run history (read, then written conditionally) and its page. A history
        # not written yet reads as AccessDenied (S3's answer to a role that may not list the
        # bucket): a ListBucket grant would not change that unless unconditioned, which would
        # let Notify list every key of the bucket.
        allow("notify", ["s3:GetObject", "s3:PutObject"],
              [objects(c.history_key(c.HISTORY_FILE)), objects(c.history_key(c.HISTORY_PAGE))])
        # A history that cannot be read is kept aside under a dated name (run_history.py).
        damaged = objects(c.history_key(c.DAMAGED_HISTORY_PATTERN))
        allow("notify", ["s3:PutObject"], [damaged])

        xray = ("Resource::* is X-Ray's PutTraceSegments/PutTelemetryRecords (active tracing), "
                "which support no resource-level scoping")
        prefixes = ("object prefixes of the models bucket that this step reads or writes (the "
                    "pipeline names the objects under them per run)")
        names = (f"SageMaker models/configs named {settings.prefix}-<version>, which the "
                 "pipeline creates per run: the prefix is this environment's")
        for step, role in self.roles.items():
            policy = role.node.find_child("DefaultPolicy")
            acknowledge(policy, xray + (" (and sagemaker:ListModels/ListEndpointConfigs, "
                                        "likewise unscoped)" if step == "cleanup" else ""),
                        "AwsSolutions-IAM5[Resource::*]")
        for step, keys in {"train": [data, artifacts, staging], "package": [staging, artifacts],
                           "plan-training": [data], "partition": [data, work],
                           "merge-bucket": [work], "global-cut": [work],
                           "count-bucket": [work], "train-sample": [work, artifacts, staging],
                           "name-failed-item": [failures],
                           "quality-gate": [artifacts],
                           "notify": [notifications,
                                      c.history_key(c.DAMAGED_HISTORY_PATTERN)]}.items():
            acknowledge(self.roles[step].node.find_child("DefaultPolicy"), prefixes,
                        *[wildcard(self, objects(key)) for key in keys])
        for step, arns in {"train": [models, configs], "train-sample": [models, configs],
                           "create-model": [models, configs],
                           "deploy": [configs], "rollback": [configs],
                           "cleanup": [models, configs]}.items():
            acknowledge(self.roles[step].node.find_child("DefaultPolicy"), names,
                        *[wildcard(self, arn) for arn in arns])

    def grant_publish(self, topic) -> None:
        topic.grant_publish(self.roles["notify"])
