"""The weekly retraining: EventBridge Scheduler, time-zone aware, starting the state machine.

A start that still fails after the retries lands in a dead-letter queue (with the error the
target answered), which an alarm watches, instead of being dropped silently."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.nag import acknowledge
from infra.settings import DeploySettings
from pipeline_lambdas.contract import schedule_name

SCHEDULE_INPUT = {}  # the production defaults; see infra/state_machine.py run_defaults


class RetrainingSchedule(Construct):
    def __init__(self, scope: Construct, construct_id: str, settings: DeploySettings,
                 state_machine: sfn.StateMachine) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(
            self, "DeadLetters", queue_name=f"{settings.prefix}-schedule-dead-letters",
            encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
            retention_period=cdk.Duration.days(14))
        acknowledge(self.dead_letters, "This queue is the schedule's dead-letter queue: what "
                    "lands here is read by a person after the alarm, not redriven.",
                    "AwsSolutions-SQS3")
        self.role = iam.Role(
            self, "Role",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com", conditions={
                "StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}}),
            description="EventBridge Scheduler: start the retraining state machine, nothing else",
            inline_policies={"start-retraining": iam.PolicyDocument(statements=[
                iam.PolicyStatement(actions=["states:StartExecution"],
                                    resources=[state_machine.state_machine_arn]),
                iam.PolicyStatement(actions=["sqs:SendMessage"],
                                    resources=[self.dead_letters.queue_arn])])})
        self.schedule = scheduler.CfnSchedule(
            self, "Weekly",
            name=schedule_name(settings.prefix),
            description="Retrain and redeploy the optimal-call-time model.",
            schedule_expression=settings.schedule_expression,
            schedule_expression_timezone=settings.schedule_time_zone,
            state="ENABLED" if settings.schedule_enabled else "DISABLED",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=state_machine.state_machine_arn,
                role_arn=self.role.role_arn,
                input=json.dumps(SCHEDULE_INPUT),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=3600, maximum_retry_attempts=3),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                    arn=self.dead_letters.queue_arn)),
        )
