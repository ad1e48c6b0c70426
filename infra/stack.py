"""One stack per environment, composed of the constructs that make the system."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from infra import images
from infra.functions import PipelineFunctions
from infra.hosting import ModelHosting
from infra.monitoring import Monitoring, Notifications
from infra.schedule import RetrainingSchedule
from infra.settings import DeploySettings
from infra.state_machine import RetrainingStateMachine
from infra.storage import ModelStorage
from pipeline_lambdas.contract import DEFAULT_CALLS_PREFIX
from pipeline_lambdas.serverless_regions import region_warning

# New AWS accounts start with reduced Lambda quotas, which AWS raises with use (Lambda quotas:
# "New AWS accounts have reduced concurrency and memory quotas").
NEW_ACCOUNT_LAMBDA_MEMORY_MB = 3008
NEW_ACCOUNT_CONCURRENT_EXECUTIONS = 10
CONCURRENT_EXECUTIONS_QUOTA = "L-B99A9384"  # Service Quotas: AWS Lambda, Concurrent executions


def lambda_quota_warnings(settings: DeploySettings) -> list[tuple[str, str]]:
    """What a new account's Lambda quotas would refuse or slow, naming what to raise."""
    found = []
    if settings.training_memory_mb > NEW_ACCOUNT_LAMBDA_MEMORY_MB:
        found.append(("calltime:lambda-memory-quota", (
            f"training_memory_mb={settings.training_memory_mb}: new AWS accounts allow Lambda "
            f"functions at most {NEW_ACCOUNT_LAMBDA_MEMORY_MB:,} MB until AWS raises it, and "
            "cdk deploy then fails to create the training functions. Check the account's "
            "Lambda quotas in Service Quotas (request an increase, or ask AWS Support), or "
            f"deploy with -c training_memory_mb={NEW_ACCOUNT_LAMBDA_MEMORY_MB} (larger logs "
            "then take the scale-out path sooner)")))
    if settings.scale_out_concurrency > NEW_ACCOUNT_CONCURRENT_EXECUTIONS:
        found.append(("calltime:lambda-concurrency-quota", (
            f"scale_out_concurrency={settings.scale_out_concurrency}: new AWS accounts allow "
            f"{NEW_ACCOUNT_CONCURRENT_EXECUTIONS} concurrent executions of all their Lambda "
            "functions, so the Distributed Maps are throttled (retried, much slower). Raise "
            f"'Concurrent executions' ({CONCURRENT_EXECUTIONS_QUOTA}) in Service Quotas, or "
            f"deploy with -c scale_out_concurrency={NEW_ACCOUNT_CONCURRENT_EXECUTIONS}")))
    return found


class CalltimeStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, settings: DeploySettings,
                 **kwargs) -> None:
        super().__init__(scope, construct_id, description=(
            f"calltime ({settings.environment}): optimal call time model, retraining pipeline, "
            "serverless endpoint (created by the pipeline)"), **kwargs)
        self.settings = settings
        if not cdk.Token.is_unresolved(self.region) and (hint := region_warning(self.region)):
            cdk.Annotations.of(self).add_warning_v2("calltime:serverless-region", hint)
        for warning_id, hint in lambda_quota_warnings(settings):
            cdk.Annotations.of(self).add_warning_v2(warning_id, hint)
        image = self._container_image(settings)
        self.storage = ModelStorage(self, "Storage", settings)
        self.hosting = ModelHosting(self, "Hosting", settings, self.storage, image)
        self.notifications = Notifications(self, "Notifications", settings)
        self.live_model_parameter = f"/{settings.project_name}/{settings.environment}/live-model"
        self.functions = PipelineFunctions(
            self, "Functions", settings, self.storage, self.hosting, image,
            self.notifications.topic.topic_arn, self.live_model_parameter)
        self.functions.grant_publish(self.notifications.topic)
        self.pipeline = RetrainingStateMachine(self, "Pipeline", settings,
                                               self.functions.functions,
                                               self.hosting.endpoint_arn,
                                               self.hosting.config_arn_pattern,
                                               self.storage.bucket)
        self.schedule = RetrainingSchedule(self, "Schedule", settings,
                                           self.pipeline.state_machine)
        self.monitoring = Monitoring(self, "Monitoring", settings, self.notifications.topic,
                                     self.pipeline.state_machine,
                                     self.functions.metrics_service,
                                     self.schedule.dead_letters)
        for key, value in settings.tags.items():
            cdk.Tags.of(self).add(key, value)
        self._outputs(settings)

    def _container_image(self, settings: DeploySettings) -> str:
        if settings.sagemaker_container_image:
            return settings.sagemaker_container_image
        if not cdk.Token.is_unresolved(self.region):
            return images.image_uri(self.region)
        mapping = cdk.CfnMapping(self, "SklearnInferenceImage", mapping=images.region_map())
        return mapping.find_in_map(cdk.Aws.REGION, "image")

    def _outputs(self, s: DeploySettings) -> None:
        bucket = self.storage.bucket.bucket_name
        outputs = {
            "endpoint_name": (self.hosting.endpoint_name,
                              "The serverless endpoint (created by the first pipeline run)"),
            "endpoint_arn": (self.hosting.endpoint_arn, "Scope of the invoke role and policy"),
            "model_name": (self.live_model_parameter,
                           "SSM parameter naming the live model; it changes with every "
                           "deployment: aws ssm get-parameter --name <this>"),
            "sagemaker_execution_role_arn": (self.hosting.execution_role.role_arn,
                                             "Role SageMaker uses to serve the model"),
            "lambda_sagemaker_invoke_role_arn": (self.hosting.invoke_role.role_arn,
                                                 "Role for campaign Lambdas: InvokeEndpoint "
                                                 "only"),
            "lambda_sagemaker_invoke_role_name": (self.hosting.invoke_role.role_name,
                                                  "Name of the invoke role"),
            "lambda_sagemaker_invoke_policy_arn": (
                self.hosting.invoke_policy.managed_policy_arn,
                "Managed policy to attach to an existing Lambda role"),
            "state_machine_arn": (self.pipeline.state_machine.state_machine_arn,
                                  "Start a run: aws stepfunctions start-execution "
                                  "--state-machine-arn <this> --input '{}'"),
            "models_bucket_name": (bucket, "Models bucket"),
            "data_uri": (f"s3://{bucket}/{DEFAULT_CALLS_PREFIX}" if self.storage.created else
                         cdk.Fn.join("", ["s3://", bucket, "/", DEFAULT_CALLS_PREFIX]),
                         "Default call-log location read by each run"),
            "topic_arn": (self.notifications.topic.topic_arn,
                          "Alarms and run outcomes are published here"),
            "dashboard_name": (self.monitoring.dashboard.dashboard_name, "CloudWatch dashboard"),
        }
        for key, (value, description) in outputs.items():
            cdk.CfnOutput(self, key, value=value, description=description)
