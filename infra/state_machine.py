"""The retraining state machine, built from the step functions.

    Start -> AcquireLock -> PlanTraining -> Train (or the scale-out maps and TrainOnSample)
      -> Package -> QualityGate -?-> CreateModelAndConfig -> Deploy
      -> WaitForEndpoint <-> CheckEndpoint (bounded) -> HealthCheck -> Cleanup -> Notify
      -> ReleaseLock -> Deployed
    keep-current -> Notify -> ReleaseLock -> KeptCurrentModel
    any failure from Deploy on -> Rollback -> Cleanup -> Notify -> ReleaseLock -> RolledBack
    any failure before Deploy -> Notify -> ReleaseLock -> PipelineFailed (endpoint untouched)

Every Lambda task retries Lambda service errors and throttling with backoff. The input is merged
over the defaults below, so `{}` is a complete input; wait times come from it, which is how local
runs compress time without a second definition. The values the Choice states compare and the
error names they match come from `pipeline_lambdas.contract`, which the steps return.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.nag import acknowledge, wildcard
from infra.settings import DeploySettings, retention
from pipeline_lambdas.contract import (
    DEPLOYMENT_FAILED_ERROR,
    FAILURES_DIR,
    IN_PROGRESS_STATUSES,
    MAP_ITEM_OUTPUT,
    RUN_REFUSED_ERROR,
    RUN_TIMEOUT_SECONDS,
    WORK_PREFIX,
    DeploymentState,
    EndState,
    GateDecision,
    Outcome,
    TrainingPath,
)

# Production timing: check every 30 s, at most 60 checks (30 minutes) before the deployment
# counts as timed out; the rollback step polls every 15 s.
DEFAULT_POLL_SECONDS = 30
DEFAULT_MAX_CHECKS = 60
DEFAULT_ROLLBACK_POLL_SECONDS = 15
EXECUTION_TIMEOUT = cdk.Duration.seconds(RUN_TIMEOUT_SECONDS)

LAMBDA_SERVICE_ERRORS = ["Lambda.ServiceException", "Lambda.AWSLambdaException",
                         "Lambda.SdkClientException", "Lambda.ClientExecutionTimeoutException"]
THROTTLING_ERRORS = ["Lambda.TooManyRequestsException"]
# A Distributed Map worker killed for memory gets one more try, in a fresh execution environment
# (a warm one may still hold the last item's memory). Step Functions names the error after the
# function's errorType (Runtime.OutOfMemory); its guide calls OOMs and timeouts Lambda.Unknown.
WORKER_MEMORY_ERRORS = ["Runtime.OutOfMemory", "Lambda.Unknown"]


def run_defaults(settings: DeploySettings) -> dict[str, Any]:
    """What `{}` means. Every key may be overridden in the execution input."""
    return {"data_uri": "", "force_deploy": False, "memory_size_mb": settings.memory_size_mb,
            "max_concurrency": settings.max_concurrency, "poll_seconds": DEFAULT_POLL_SECONDS,
            "max_checks": DEFAULT_MAX_CHECKS,
            "rollback_poll_seconds": DEFAULT_ROLLBACK_POLL_SECONDS, "deploy_version": ""}


# Result slots exist from the start so every later path can be read ("" stands for none).
PLACEHOLDERS: dict[str, Any] = {
    "lock": {"etag": ""},  # the lock's ETag once AcquireLock took it; "" = this run never did
    "train": {"model_version": ""},
    "gate": {"decision": ""},
    "model": {"endpoint_config_name": "", "live_endpoint_config_name": ""},
    "deploy": {"previous_endpoint_config_name": "", "deploy_started_at": ""},
    "check": {"next_attempt": 1},
    "error": {"Error": "", "Cause": ""},
    "rollback_error": {"Error": "", "Cause": ""},
    "cleanup_error": {"Error": "", "Cause": ""},
    "restore": {"status": "", "config": "", "checks": 0},
}


@dataclass(frozen=True)
class Ending:
    """How a run ends: the outcome it reports, and the final state it reaches."""

    outcome_state: str  # the Pass state that records the outcome
    outcome: Outcome
    end_state: EndState
    cause: str | None  # a Fail state's cause; None for a Succeed state


# The Distributed Maps of a scale-out run, in order.
MAP_STATES = ("PartitionParts", "MergeBuckets", "CountBuckets")

RUN_REFUSED_CAUSE = "Another run holds the endpoint lock; nothing was done."
ENDINGS = (
    Ending("OutcomeDeployed", Outcome.DEPLOYED, EndState.DEPLOYED, None),
    Ending("OutcomeKeptCurrentModel", Outcome.KEPT_CURRENT_MODEL, EndState.KEPT_CURRENT_MODEL,
           None),
    Ending("OutcomeRolledBack", Outcome.ROLLED_BACK, EndState.ROLLED_BACK,
           "The new model failed; the previous model is serving."),
    Ending("OutcomeRollbackFailed", Outcome.ROLLBACK_FAILED, EndState.ROLLBACK_FAILED,
           "The rollback failed: see the Rollback step's error."),
    Ending("OutcomeRefused", Outcome.REFUSED, EndState.RUN_REFUSED, RUN_REFUSED_CAUSE),
    Ending("OutcomeFailed", Outcome.FAILED, EndState.PIPELINE_FAILED,
           "A step failed before the endpoint was touched: see the failed step's error."),
)


class RetrainingStateMachine(Construct):
    def __init__(self, scope: Construct, construct_id: str, settings: DeploySettings,
                 functions: dict[str, lambda_.IFunction], endpoint_arn: str,
                 config_arn_pattern: str, bucket: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        self._functions = functions
        self._bucket = bucket
        self._endpoint = (settings.endpoint_name, endpoint_arn, config_arn_pattern)
        self._scale_out_concurrency = settings.scale_out_concurrency
        finish = self._endings()
        start = self._start(settings)
        before_deploy = self._before_deploy(finish)
        rollback = self._rollback(finish)
        deploy = self._deploy_loop(finish, rollback)
        gate = sfn.Choice(self, "GateDecision")
        gate.when(sfn.Condition.string_equals("$.gate.decision", GateDecision.KEEP_CURRENT.value),
                  finish[Outcome.KEPT_CURRENT_MODEL])
        gate.otherwise(deploy)
        self._build(settings, start.next(before_deploy).next(gate))

    # --- the parts, in the order a run meets them ------------------------------------------------

    def _start(self, settings: DeploySettings) -> sfn.Chain:
        """Merge the execution input over the defaults; give every result a slot."""
        start = sfn.Pass(self, "Start", comment="Execution input over the defaults.",
                         parameters={"defaults": run_defaults(settings),
                                     "input.$": "$$.Execution.Input"})
        apply = sfn.Pass(self, "ApplyDefaults", parameters={
            "run.$": "States.JsonMerge($.defaults, $.input, false)",
            "execution_name.$": "$$.Execution.Name",
            "execution_start.$": "$$.Execution.StartTime",
            "execution_arn.$": "$$.Execution.Id",
            **PLACEHOLDERS,
        })
        return start.next(apply)

    def _endings(self) -> dict[Outcome, sfn.IChainable]:
        """The end of every path: record the outcome, notify, release the lock, finish in the
        outcome's end state. Returns the state that records each outcome."""
        notify = self._task("Notify", "notify", {
            "outcome.$": "$.outcome",
            "execution_name.$": "$.execution_name",
            "execution_arn.$": "$.execution_arn",
            "details": {"model_version.$": "$.train.model_version", "train.$": "$.train",
                        "gate.$": "$.gate", "deploy.$": "$.deploy", "check.$": "$.check",
                        "error.$": "$.error", "rollback_error.$": "$.rollback_error",
                        "cleanup_error.$": "$.cleanup_error"},
        }, "$.notification")
        release = self._task("ReleaseLock", "release-lock",
                             {"execution_name.$": "$.execution_name",
                              "etag.$": "$.lock.etag"}, "$.release")
        outcome = sfn.Choice(self, "Outcome")
        notify.add_catch(release, errors=["States.ALL"], result_path="$.notify_error")
        notify.next(release)
        release.add_catch(outcome, errors=["States.ALL"], result_path="$.release_error")
        release.next(outcome)
        finish: dict[Outcome, sfn.IChainable] = {}
        for ending in ENDINGS:
            if ending.outcome is not Outcome.FAILED:  # the default
                outcome.when(sfn.Condition.string_equals("$.outcome", ending.outcome.value),
                             self._end_state(ending.end_state, ending.cause))
            finish[ending.outcome] = sfn.Pass(
                self, ending.outcome_state, result=sfn.Result.from_string(ending.outcome.value),
                result_path="$.outcome").next(notify)
        failed = next(e for e in ENDINGS if e.outcome is Outcome.FAILED)
        outcome.otherwise(self._end_state(failed.end_state, failed.cause))
        return finish

    def _end_state(self, state: EndState, cause: str | None) -> sfn.IChainable:
        if cause is None:
            return sfn.Succeed(self, state.value)
        # A refused run fails with the lock's own error name, as callers check it.
        error = RUN_REFUSED_ERROR if state is EndState.RUN_REFUSED else state.value
        return sfn.Fail(self, state.value, error=error, cause=cause)

    def _before_deploy(self, finish: dict[Outcome, sfn.IChainable]) -> sfn.Chain:
        """Lock, train, package, gate: a failure here only notifies (endpoint untouched)."""
        failed = finish[Outcome.FAILED]
        acquire = self._task("AcquireLock", "acquire-lock",
                             {"execution_name.$": "$.execution_name", "run.$": "$.run",
                              "execution_arn.$": "$$.Execution.Id"}, "$.lock")
        # Another run holds the lock: refused (notified as such), not failed.
        acquire.add_catch(finish[Outcome.REFUSED], errors=[RUN_REFUSED_ERROR],
                          result_path="$.error")
        acquire.add_catch(failed, errors=["States.ALL"], result_path="$.error")
        plan = self._task("PlanTraining", "plan-training", {
            "execution_name.$": "$.execution_name", "data_uri.$": "$.run.data_uri"}, "$.plan",
            catch=failed)
        train = self._task("Train", "train", {
            "execution_name.$": "$.execution_name", "execution_start.$": "$.execution_start",
            "data_uri.$": "$.plan.data_uri"}, "$.train", catch=failed)
        path = sfn.Choice(self, "TrainingPath")
        path.when(sfn.Condition.string_equals("$.plan.path", TrainingPath.SCALE_OUT.value),
                  self._scale_out(failed))
        path.otherwise(train)
        package = self._task("Package", "package",
                             {"model_version.$": "$.train.model_version",
                              "deploy_version.$": "$.run.deploy_version"}, "$.package",
                             catch=failed)
        gate = self._task("QualityGate", "quality-gate", {
            "model_version.$": "$.train.model_version",
            "force_deploy.$": "$.run.force_deploy"}, "$.gate", catch=failed)
        # {"deploy_version": v}: roll forward or back to a published version. No training and
        # no gate; the lock, deploy, health check, rollback and notification are the same.
        requested = "$.run.deploy_version"
        kind = sfn.Choice(self, "RunKind")
        kind.when(sfn.Condition.string_equals(requested, ""), plan)
        kind.otherwise(sfn.Pass(self, "RequestedVersion", parameters={
            "model_version.$": requested, "requested": True}, result_path="$.train"
        ).next(package))
        skip = sfn.Pass(self, "SkipGate", parameters={
            "decision": GateDecision.DEPLOY.value,
            "reason.$": f"States.Format('deploy_version {{}} requested: no quality gate', "
                        f"{requested})", "forced": True}, result_path="$.gate")
        gated = sfn.Choice(self, "GateNeeded")
        gated.when(sfn.Condition.string_equals(requested, ""), gate)
        gated.otherwise(skip)
        path.afterwards().next(package)
        package.next(gated)
        plan.next(path)
        acquire.next(kind)
        return sfn.Chain.custom(acquire, [gate, skip], gated)

    def _scale_out(self, failed: sfn.IChainable) -> sfn.Chain:
        """A log too large for one function: Distributed Maps over its parts and its contact
        buckets (training/scale_out.py), then one function trains as Train does. A Map that
        fails is explained before the run ends: NameFailedItem reads the record its failed
        item left and puts that item's error, named, in `$.error`."""
        work = {"execution_name.$": "$.execution_name", "work_prefix.$": "$.plan.work_prefix"}
        named = self._task("NameFailedItem", "name-failed-item", {
            "work_prefix.$": "$.plan.work_prefix", "error.$": "$.error"}, "$.error")
        # Without a record (or if reading it fails), the Map's own error stands.
        named.add_catch(failed, errors=["States.ALL"], result_path="$.name_error")
        named.next(failed)
        partition = self._map(MAP_STATES[0], "$.plan.parts", {
            **work, "part.$": "$$.Map.Item.Value", "bucket_count.$": "$.plan.bucket_count"},
            "Partition", "partition", {"part.$": "$.part", "bucket_count.$": "$.bucket_count"},
            "$.part.index", named)
        merge = self._map(MAP_STATES[1], "$.plan.buckets", {
            **work, "bucket.$": "$$.Map.Item.Value"}, "MergeBucket", "merge-bucket",
            {"bucket.$": "$.bucket"}, "$.bucket", named)
        cut = self._task("GlobalCut", "global-cut", work, "$.cut", catch=failed)
        count = self._map(MAP_STATES[2], "$.plan.buckets", {
            **work, "bucket.$": "$$.Map.Item.Value", "cut.$": "$.cut"}, "CountBucket",
            "count-bucket", {"bucket.$": "$.bucket", "cut.$": "$.cut"}, "$.bucket", named)
        train = self._task("TrainOnSample", "train-sample", {
            **work, "execution_start.$": "$.execution_start",
            "data_uri.$": "$.plan.data_uri", "cut.$": "$.cut"}, "$.train", catch=failed)
        return partition.next(merge).next(cut).next(count).next(train)

    def _map(self, state_id: str, items_path: str, item: dict[str, Any], task_id: str,
             function_key: str, payload: dict[str, Any], item_id: str,
             failed: sfn.IChainable) -> sfn.DistributedMap:
        """A Distributed Map whose items each run one step function.

        Its results are not kept, and not gathered either: Step Functions holds the gathered
        child outputs to the 256 KB state limit whatever the ResultPath, so each child ends in
        a constant output of a few bytes (each item writes what it made to the work area,
        under keys of its item alone, so a retried item overwrites what its first try wrote).

        No failed item is tolerated: a part that is no call log is refused inside its worker,
        by name; a worker that fails again would otherwise leave the model trained on less
        data than the run says. Step Functions reports only that the tolerated failure
        threshold was exceeded, so a failed child first writes its item and error to
        work/<execution>/failures/<Map>/ (with the state machine's own S3 call: the worker
        may have been killed) for NameFailedItem to read."""
        mapped = sfn.DistributedMap(
            self, state_id, items_path=items_path, item_selector=item,
            max_concurrency=self._scale_out_concurrency, result_path=sfn.JsonPath.DISCARD)
        worker = self._task(task_id, function_key, {
            "execution_name.$": "$.execution_name", "work_prefix.$": "$.work_prefix",
            **payload}, sfn.JsonPath.DISCARD)
        worker.add_retry(errors=WORKER_MEMORY_ERRORS, interval=cdk.Duration.seconds(1),
                         max_attempts=1)
        done = sfn.Pass(self, f"{task_id}Done", result=sfn.Result.from_number(MAP_ITEM_OUTPUT))
        # <work prefix>failures/<Map>/<item>.json: the child's input and its error.
        key = (f"States.Format('{{}}{FAILURES_DIR}{state_id}/{{}}.json', $.work_prefix, "
               f"{item_id})")
        record = tasks.CallAwsService(
            self, f"{task_id}RecordFailure", service="s3", action="putObject",
            iam_action="s3:PutObject", iam_resources=[self._bucket.arn_for_objects(
                f"{WORK_PREFIX}*/{FAILURES_DIR}{state_id}/*")],
            parameters={"Bucket": self._bucket.bucket_name, "Key.$": key,
                        "Body.$": "States.JsonToString($)",
                        "ContentType": "application/json"},
            result_path=sfn.JsonPath.DISCARD)
        item_failed = sfn.Fail(self, f"{task_id}Failed", error_path="$.failure.Error",
                               cause_path="$.failure.Cause")
        worker.add_catch(record, errors=["States.ALL"], result_path="$.failure")
        record.add_catch(item_failed, errors=["States.ALL"], result_path="$.record_error")
        mapped.item_processor(worker.next(done))
        record.next(item_failed)
        mapped.add_catch(failed, errors=["States.ALL"], result_path="$.error")
        return mapped

    def _rollback(self, finish: dict[Outcome, sfn.IChainable]) -> sfn.IChainable:
        """From Deploy on, every failure restores the previous config, then cleans up."""
        after_rollback = self._task("CleanupAfterRollback", "cleanup", self._cleanup_payload(),
                                    "$.cleanup")
        rollback = self._task("Rollback", "rollback", {
            "previous_endpoint_config_name.$": "$.deploy.previous_endpoint_config_name",
            "endpoint_config_at_start.$": "$.model.live_endpoint_config_name",
            "endpoint_config_name.$": "$.model.endpoint_config_name",
            "poll_seconds.$": "$.run.rollback_poll_seconds"}, "$.rollback",
            catch=self._restore_directly(finish, after_rollback), catch_path="$.rollback_error")
        after_rollback.add_catch(finish[Outcome.ROLLED_BACK], errors=["States.ALL"],
                                 result_path="$.cleanup_error")
        rollback.next(after_rollback)
        after_rollback.next(finish[Outcome.ROLLED_BACK])
        return rollback

    def _restore_directly(self, finish: dict[Outcome, sfn.IChainable],
                          restored: sfn.IChainable) -> sfn.IChainable:
        """When the Rollback function itself fails (a bug, a timeout, its memory, its role),
        Step Functions puts the previous config back with its own SageMaker calls, no Lambda
        involved: describe, update unless SageMaker already kept it, wait until it is InService
        on that config (at most max_checks waits). Without a previous config (a failed first
        deployment) there is nothing to restore to: RollbackFailed."""
        name, endpoint_arn, configs = self._endpoint
        failed = finish[Outcome.ROLLBACK_FAILED]
        previous = "$.deploy.previous_endpoint_config_name"
        describe = tasks.CallAwsService(
            self, "DescribeForRestore", service="sagemaker", action="describeEndpoint",
            iam_action="sagemaker:DescribeEndpoint", iam_resources=[endpoint_arn],
            parameters={"EndpointName": name},
            result_selector={"status.$": "$.EndpointStatus", "config.$": "$.EndpointConfigName"},
            result_path="$.restore_seen")
        update = tasks.CallAwsService(
            self, "RestorePreviousConfig", service="sagemaker", action="updateEndpoint",
            iam_action="sagemaker:UpdateEndpoint", iam_resources=[endpoint_arn, configs],
            parameters={"EndpointName": name, "EndpointConfigName.$": previous},
            result_path=sfn.JsonPath.DISCARD)
        count = sfn.Pass(self, "CountRestoreChecks", parameters={
            "status.$": "$.restore_seen.status", "config.$": "$.restore_seen.config",
            "checks.$": "States.MathAdd($.restore.checks, 1)"}, result_path="$.restore")
        wait = sfn.Wait(self, "WaitForRestore",
                        time=sfn.WaitTime.seconds_path("$.run.poll_seconds"))
        for task in (describe, update):
            task.add_retry(errors=["SageMaker.ThrottlingException"], interval=cdk.Duration.seconds(
                2), max_attempts=5, backoff_rate=2.0)
            task.add_catch(failed, errors=["States.ALL"], result_path="$.restore_error")
        status = sfn.Choice(self, "RestoreStatus")
        status.when(sfn.Condition.number_greater_than_json_path("$.restore.checks",
                                                                "$.run.max_checks"), failed)
        status.when(sfn.Condition.and_(
            sfn.Condition.string_equals("$.restore.status", "InService"),
            sfn.Condition.string_equals_json_path("$.restore.config", previous)), restored)
        status.when(sfn.Condition.or_(*[sfn.Condition.string_equals("$.restore.status", s)
                                        for s in IN_PROGRESS_STATUSES]), wait)
        status.when(sfn.Condition.string_equals("$.restore.status", "InService"),
                    update.next(wait))
        status.otherwise(failed)
        wait.next(describe)
        describe.next(count).next(status)
        can_restore = sfn.Choice(self, "CanRestoreDirectly")
        can_restore.when(sfn.Condition.string_equals(previous, ""), failed)
        can_restore.otherwise(describe)
        return can_restore

    def _deploy_loop(self, finish: dict[Outcome, sfn.IChainable],
                     rollback: sfn.IChainable) -> sfn.IChainable:
        """Create model and config, deploy, check until settled, health-check, clean up."""
        create = self._task("CreateModelAndConfig", "create-model", {
            "model_version.$": "$.train.model_version",
            "artifact_uri.$": "$.package.artifact_uri",
            "memory_size_mb.$": "$.run.memory_size_mb",
            "max_concurrency.$": "$.run.max_concurrency"}, "$.model",
            catch=finish[Outcome.FAILED])
        # The rollback target is known before the endpoint is touched: what it served when
        # CreateModelAndConfig looked (Deploy may fail before it says, or find on a retry that
        # its first attempt's update is already done).
        target = sfn.Pass(self, "RecordRollbackTarget", parameters={
            "previous_endpoint_config_name.$": "$.model.live_endpoint_config_name",
            "deploy_started_at": ""}, result_path="$.deploy")
        deploy = self._task("Deploy", "deploy", {
            "endpoint_config_name.$": "$.model.endpoint_config_name",
            "endpoint_config_at_start.$": "$.model.live_endpoint_config_name"},
            "$.deploy", catch=rollback)
        wait = sfn.Wait(self, "WaitForEndpoint",
                        time=sfn.WaitTime.seconds_path("$.run.poll_seconds"))
        check = self._task("CheckEndpoint", "check-endpoint", {
            "endpoint_config_name.$": "$.model.endpoint_config_name",
            "attempt.$": "$.check.next_attempt",
            "max_attempts.$": "$.run.max_checks",
            "deploy_started_at.$": "$.deploy.deploy_started_at"}, "$.check", catch=rollback)
        not_in_service = sfn.Pass(self, "DeploymentFailed", parameters={
            "Error": DEPLOYMENT_FAILED_ERROR, "Cause.$": "$.check.failure_reason"},
            result_path="$.error").next(rollback)
        health = self._task("HealthCheck", "health-check", {}, "$.health", catch=rollback)
        cleanup = self._task("Cleanup", "cleanup", self._cleanup_payload(), "$.cleanup")
        # Old versions and the SSM record are housekeeping: a failure there never rolls back
        # a model that passed its health check.
        cleanup.add_catch(finish[Outcome.DEPLOYED], errors=["States.ALL"],
                          result_path="$.cleanup_error")

        status = sfn.Choice(self, "EndpointStatus")
        status.when(sfn.Condition.string_equals("$.check.state", DeploymentState.IN_SERVICE.value),
                    health.next(cleanup).next(finish[Outcome.DEPLOYED]))
        status.when(sfn.Condition.string_equals("$.check.state",
                                            DeploymentState.IN_PROGRESS.value), wait)
        status.otherwise(not_in_service)
        create.next(target).next(deploy)
        deploy.next(wait)
        wait.next(check)
        check.next(status)
        return create

    # --- building blocks -------------------------------------------------------------------------

    @staticmethod
    def _cleanup_payload() -> dict[str, str]:
        return {"previous_endpoint_config_name.$": "$.deploy.previous_endpoint_config_name"}

    def _build(self, settings: DeploySettings, definition: sfn.IChainable) -> None:
        self.log_group = logs.LogGroup(
            self, "Logs", log_group_name=f"/aws/vendedlogs/states/{settings.prefix}-retraining",
            retention=retention(settings.log_retention_days),
            removal_policy=cdk.RemovalPolicy.DESTROY)
        self.state_machine = sfn.StateMachine(
            self, "StateMachine",
            state_machine_name=settings.state_machine_name,
            comment="calltime: retrain, gate, deploy with rollback, notify.",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=EXECUTION_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL,
                                include_execution_data=True),
        )
        policy = self.state_machine.role.node.find_child("DefaultPolicy")
        # The ARNs CDK grants a Distributed Map on its own child executions (aws-stepfunctions
        # DistributedMap: DescribeExecution/StopExecution on <machine>:* and <machine>/*:*).
        name = cdk.Fn.select(6, cdk.Fn.split(":", self.state_machine.state_machine_arn))
        children = [cdk.Stack.of(self).format_arn(
            service="states", resource="execution", resource_name=f"{name}{suffix}",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME) for suffix in (":*", "/*:*")]
        # CDK adds them as the state machine's DistributedMapPolicy, when it synthesizes.
        acknowledge(
            self.state_machine, "The Distributed Maps run child executions of this state "
            "machine: CDK's grant is DescribeExecution/StopExecution on this state machine's "
            "own executions (their names are made per run).",
            *[wildcard(self, arn) for arn in children])
        acknowledge(
            policy,
            "Resource::* is CloudWatch Logs delivery (logs:CreateLogDelivery and friends) and "
            "X-Ray, which support no resource-level scoping; '<function>:*' is CDK's Lambda "
            "grant for the step functions' versions and aliases, only this pipeline's functions; "
            "'endpoint-config/<prefix>-*' is the versioned endpoint configs (named per model "
            "version) that the direct restore may put back when the Rollback function fails; "
            "'work/*/failures/<Map>/*' is where a Distributed Map's failed item records itself "
            "(the run's work prefix is made per execution).",
            "AwsSolutions-IAM5[Resource::*]",
            *[wildcard(self, f"{fn.function_arn}:*") for fn in self._functions.values()],
            wildcard(self, self._endpoint[2]),
            *[wildcard(self, self._bucket.arn_for_objects(
                f"{WORK_PREFIX}*/{FAILURES_DIR}{state}/*")) for state in MAP_STATES])

    def _task(self, state_id: str, function_key: str, payload: dict[str, Any],
              result_path: str, catch: sfn.IChainable | None = None,
              catch_path: str = "$.error") -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self, state_id, lambda_function=self._functions[function_key],
            payload=sfn.TaskInput.from_object(payload or {"execution_name.$": "$.execution_name"}),
            payload_response_only=True, result_path=result_path,
            retry_on_service_exceptions=False)
        task.add_retry(errors=LAMBDA_SERVICE_ERRORS, interval=cdk.Duration.seconds(2),
                       max_attempts=6, backoff_rate=2.0)
        task.add_retry(errors=THROTTLING_ERRORS, interval=cdk.Duration.seconds(5),
                       max_attempts=8, backoff_rate=2.0)
        if catch is not None:
            task.add_catch(catch, errors=["States.ALL"], result_path=catch_path)
        return task
