"""Alarms (endpoint and pipeline) to one SNS topic, and a dashboard with both.

Endpoint metrics are the ones SageMaker publishes for serverless endpoints (AWS/SageMaker,
EndpointName + VariantName=AllTraffic): ModelLatency and ModelSetupTime are in microseconds.
Pipeline metrics: AWS/States for executions, and the steps' own EMF metrics (namespace = the
project name, dimension service = <project>-<env>-pipeline): Rollbacks, RollbackFailed.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.nag import acknowledge
from infra.settings import DeploySettings
from pipeline_lambdas.contract import ALARM_IDS, VARIANT_NAME, PipelineMetric, topic_name

FIVE_MINUTES = cdk.Duration.minutes(5)


class Notifications(Construct):
    """The topic for alarms and run outcomes (the notify step publishes here)."""

    def __init__(self, scope: Construct, construct_id: str, settings: DeploySettings) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Topic", topic_name=topic_name(settings.prefix),
                               display_name=f"calltime {settings.environment}",
                               enforce_ssl=True)
        # enforce_ssl makes CDK write a topic policy, which replaces SNS's default one: without
        # this statement CloudWatch may not publish and alarm notifications never arrive.
        stack = cdk.Stack.of(self)
        self.topic.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudWatchAlarmsPublish",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["sns:Publish"], resources=[self.topic.topic_arn],
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": stack.format_arn(
                    service="cloudwatch", resource="alarm", resource_name=f"{settings.prefix}-*",
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)}}))
        if settings.notification_email:
            self.topic.add_subscription(
                subscriptions.EmailSubscription(settings.notification_email))
        acknowledge(self.topic, "CloudWatch alarms cannot publish to a topic encrypted with the "
                    "AWS managed SNS key, and a customer key only for this topic is not worth its "
                    "cost: messages carry run outcomes and metric values, no personal data. "
                    "Publishing requires TLS (enforce_ssl).", "AwsSolutions-SNS2")


class Monitoring(Construct):
    def __init__(self, scope: Construct, construct_id: str, settings: DeploySettings,
                 topic: sns.ITopic, state_machine: sfn.StateMachine, metrics_service: str,
                 schedule_dead_letters: sqs.IQueue) -> None:
        super().__init__(scope, construct_id)
        a = settings.alarms
        endpoint = {"EndpointName": settings.endpoint_name, "VariantName": VARIANT_NAME}

        def sagemaker(name: str, statistic: str) -> cw.Metric:
            return cw.Metric(namespace="AWS/SageMaker", metric_name=name,
                             dimensions_map=endpoint, statistic=statistic, period=FIVE_MINUTES)

        def pipeline(name: PipelineMetric, statistic: str = "Sum") -> cw.Metric:
            return cw.Metric(namespace=settings.project_name, metric_name=name.value,
                             dimensions_map={"service": metrics_service}, statistic=statistic,
                             period=FIVE_MINUTES)

        invocations = sagemaker("Invocations", "Sum")
        errors_4xx = sagemaker("Invocation4XXErrors", "Sum")
        errors_5xx = sagemaker("Invocation5XXErrors", "Sum")
        latency = sagemaker("ModelLatency", "p90")
        setup = sagemaker("ModelSetupTime", "Maximum")
        utilization = sagemaker("ServerlessConcurrentExecutionsUtilization", "Maximum")
        error_rate = cw.MathExpression(
            expression="IF(invocations > 0, 100 * (e4 + e5) / invocations, 0)",
            using_metrics={"invocations": invocations, "e4": errors_4xx, "e5": errors_5xx},
            label="Invocation error rate (%)", period=FIVE_MINUTES)
        # Messages sent, not visible: nothing drains the queue, and each failed start must alarm.
        dead_letters = schedule_dead_letters.metric_number_of_messages_sent(
            period=FIVE_MINUTES, statistic="Sum")
        failed_runs = cw.MathExpression(
            expression="failed + timedout + aborted",
            using_metrics={"failed": state_machine.metric_failed(period=FIVE_MINUTES),
                           "timedout": state_machine.metric_timed_out(period=FIVE_MINUTES),
                           "aborted": state_machine.metric_aborted(period=FIVE_MINUTES)},
            label="Pipeline runs failed, timed out or aborted", period=FIVE_MINUTES)

        def alarm(alarm_id: str, metric: cw.IMetric, threshold: float, description: str,
                  evaluation_periods: int = 1) -> cw.Alarm:
            created = cw.Alarm(
                self, alarm_id, alarm_name=f"{settings.prefix}-{alarm_id}",
                alarm_description=description, metric=metric, threshold=threshold,
                evaluation_periods=evaluation_periods,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
                if threshold == 1 else cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING)
            created.add_alarm_action(cw_actions.SnsAction(topic))
            return created

        self.alarms = {
            "model-latency": alarm(
                "model-latency", latency, a.model_latency_ms * 1000,
                f"p90 model latency above {a.model_latency_ms:g} ms (ModelLatency is in "
                "microseconds)", evaluation_periods=2),
            "invocation-error-rate": alarm(
                "invocation-error-rate", error_rate, a.error_rate_percent,
                f"More than {a.error_rate_percent:g}% of invocations answered 4XX or 5XX"),
            "concurrency": alarm(
                "concurrency", utilization, a.concurrency_utilization,
                f"Concurrent executions above {a.concurrency_utilization:.0%} of "
                f"MaxConcurrency ({settings.max_concurrency}): requests beyond it are throttled"),
            "cold-start": alarm(
                "cold-start", setup, a.cold_start_ms * 1000,
                f"A cold start (ModelSetupTime) took longer than {a.cold_start_ms:g} ms: "
                "10-15 s is normal, and SageMaker fails a container whose model download and "
                "/ping take longer than its 3-minute setup limit (a grown model or code/, a "
                "slow pip install): act before cold starts fail"),
            "pipeline-failed": alarm(
                "pipeline-failed", failed_runs, 1,
                "A retraining run failed, timed out or was aborted (a rolled-back run fails "
                "too: see the rollback alarms)"),
            "rollback": alarm(
                "rollback", pipeline(PipelineMetric.ROLLBACKS), 1,
                "A new model failed and the endpoint was rolled back to the previous model"),
            "rollback-failed": alarm(
                "rollback-failed", pipeline(PipelineMetric.ROLLBACK_FAILED), 1,
                "A rollback failed: the endpoint may not be serving the previous model"),
            "schedule-failed": alarm(
                "schedule-failed", dead_letters, 1,
                "The schedule could not start a retraining run: the dead-letter queue "
                f"{schedule_dead_letters.queue_name} holds the error"),
        }

        if tuple(self.alarms) != ALARM_IDS:  # `calltime status` reads them by these names
            raise ValueError(f"alarms {tuple(self.alarms)} are not contract.ALARM_IDS")

        # Dashboard names are account-wide: the region keeps two regions' stacks apart.
        region = cdk.Stack.of(self).region
        self.dashboard = cw.Dashboard(self, "Dashboard",
                                      dashboard_name=f"{settings.prefix}-{region}",
                                      default_interval=cdk.Duration.days(7))
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Invocations and errors", left=[invocations, errors_4xx,
                                                                  errors_5xx],
                           right=[error_rate], width=12),
            cw.GraphWidget(title="Model latency p50/p90/p99 (µs)", left=[
                sagemaker("ModelLatency", "p50"), latency, sagemaker("ModelLatency", "p99")],
                width=12),
            cw.GraphWidget(title="Cold starts: ModelSetupTime (µs)", left=[setup], width=8),
            cw.GraphWidget(title="Concurrency utilization", left=[utilization], width=8),
            cw.GraphWidget(title="Memory utilization (%)",
                           left=[sagemaker("MemoryUtilization", "Maximum")], width=8),
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="Pipeline runs", left=[
                state_machine.metric_succeeded(period=FIVE_MINUTES),
                state_machine.metric_failed(period=FIVE_MINUTES),
                state_machine.metric_timed_out(period=FIVE_MINUTES)], width=8),
            cw.GraphWidget(title="Rollbacks", left=[pipeline(PipelineMetric.ROLLBACKS),
                                                    pipeline(PipelineMetric.ROLLBACK_FAILED)],
                           width=8),
            cw.GraphWidget(title="Training: rows and holdout ROC AUC", left=[
                pipeline(PipelineMetric.ROWS_VALID), pipeline(PipelineMetric.ROWS_REJECTED)],
                right=[pipeline(PipelineMetric.ROC_AUC, "Maximum")], width=8),
            cw.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24),
        )
