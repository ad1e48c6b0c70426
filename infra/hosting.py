"""Model hosting and who may use it: the SageMaker execution role and the invoke role/policy.

The endpoint itself is created and updated by the pipeline, not by CloudFormation: a
CloudFormation-owned endpoint would drift from what the pipeline deployed and be reverted on the
next stack update. Its name is deterministic, so everything here is scoped to it before it exists.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.nag import acknowledge, wildcard
from infra.settings import DeploySettings
from infra.storage import ModelStorage
from pipeline_lambdas.contract import MODELS_PREFIX


def arn(scope: Construct, kind: str, name: str) -> str:
    """A SageMaker ARN in this stack's account and region (SageMaker lower-cases names)."""
    return cdk.Stack.of(scope).format_arn(service="sagemaker", resource=kind,
                                          resource_name=name.lower())


class ModelHosting(Construct):
    def __init__(self, scope: Construct, construct_id: str, settings: DeploySettings,
                 storage: ModelStorage, image_uri: str) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.endpoint_name = settings.endpoint_name
        self.endpoint_arn = arn(self, "endpoint", settings.endpoint_name)
        self.model_arn_pattern = arn(self, "model", f"{settings.prefix}-*")
        self.config_arn_pattern = arn(self, "endpoint-config", f"{settings.prefix}-*")

        # --- the role SageMaker assumes to serve the model -------------------------------------
        self.execution_role = iam.Role(
            self, "SageMakerExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="SageMaker serving calltime's endpoint: read the model artifacts, pull "
                        "the scikit-learn image, write the endpoint's logs and metrics.",
        )
        repository_account = cdk.Fn.select(0, cdk.Fn.split(".", image_uri))
        repository_name = cdk.Fn.select(0, cdk.Fn.split(
            ":", cdk.Fn.select(1, cdk.Fn.split("/", image_uri))))
        statements = [
            iam.PolicyStatement(sid="ReadModelArtifacts", actions=["s3:GetObject"],
                                resources=[storage.arn(f"{MODELS_PREFIX}/*")]),
            iam.PolicyStatement(sid="PullServingImage", actions=[
                "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability"],
                resources=[stack.format_arn(service="ecr", account=repository_account,
                                            resource="repository",
                                            resource_name=repository_name)]),
            iam.PolicyStatement(sid="EcrAuthorization", actions=["ecr:GetAuthorizationToken"],
                                resources=["*"]),
            iam.PolicyStatement(sid="EndpointLogs", actions=[
                "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                "logs:DescribeLogStreams"],
                resources=[stack.format_arn(
                    service="logs", resource="log-group",
                    resource_name=f"/aws/sagemaker/Endpoints/{settings.endpoint_name}:*",
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)]),
            iam.PolicyStatement(sid="EndpointMetrics", actions=["cloudwatch:PutMetricData"],
                                resources=["*"], conditions={"StringLike": {
                                    "cloudwatch:namespace": ["/aws/sagemaker/*", "AWS/SageMaker"]
                                }}),
        ]
        policy = iam.Policy(self, "SageMakerExecutionPolicy", statements=statements)
        policy.attach_to_role(self.execution_role)
        acknowledge(policy, "Scoped as far as IAM allows: objects under the models prefix "
                    "only, and the endpoint's own log group streams; ecr:GetAuthorizationToken "
                    "and cloudwatch:PutMetricData support no resource-level scoping (the latter "
                    "is limited to SageMaker namespaces by a condition).",
                    "AwsSolutions-IAM5[Resource::*]",
                    wildcard(self, storage.arn(f"{MODELS_PREFIX}/*")),
                    wildcard(self, statements[3].resources[0]))

        # --- who may call the endpoint ---------------------------------------------------------
        invoke = iam.PolicyStatement(sid="InvokeOptimalCallTimeEndpoint",
                                     actions=["sagemaker:InvokeEndpoint"],
                                     resources=[self.endpoint_arn])
        self.invoke_role = iam.Role(
            self, "InvokeRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="For the campaign Lambdas: only sagemaker:InvokeEndpoint on the "
                        "optimal-call-time endpoint.",
            inline_policies={"invoke-endpoint": iam.PolicyDocument(statements=[invoke])},
        )
        self.invoke_policy = iam.ManagedPolicy(
            self, "InvokePolicy",
            description="Attach to an existing Lambda role to let it call the optimal-call-time "
                        "endpoint (and nothing else).",
            statements=[invoke],
        )
