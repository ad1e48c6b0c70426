"""The one printer of execution events: a line per step, in two levels of detail."""

from __future__ import annotations

import json

from localaws.progress import Progress

DEFINITION = json.dumps({"StartAt": "Start", "States": {
    "Start": {"Type": "Pass", "Next": "Train"},
    "Train": {"Type": "Task", "Resource": "arn", "ResultPath": "$.train", "Next": "Wait"},
    "Wait": {"Type": "Wait", "Seconds": 1, "Next": "OutcomeDeployed"},
    "OutcomeDeployed": {"Type": "Pass", "Result": "deployed", "ResultPath": "$.outcome",
                        "End": True}}})


def _events() -> list[dict]:
    def entered(name: str) -> dict:
        return {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": name}}

    def exited(name: str, output: dict) -> dict:
        return {"type": "TaskStateExited",
                "stateExitedEventDetails": {"name": name, "output": json.dumps(output)}}

    return [
        {"type": "ExecutionStarted"},
        entered("Start"), exited("Start", {"run": {}}),
        entered("Train"),
        {"type": "LambdaFunctionFailed", "lambdaFunctionFailedEventDetails": {
            "error": "InvalidCallLog", "cause": json.dumps({"errorMessage": "no rows"})}},
        exited("Train", {"run": {}, "train": {"model_version": "v1", "roc_auc": 0.72345,
                                              "rejected": {}}}),
        entered("Wait"), exited("Wait", {}),
        entered("OutcomeDeployed"), exited("OutcomeDeployed", {"outcome": "deployed"}),
        {"type": "ExecutionSucceeded", "executionSucceededEventDetails": {}},
    ]


def test_the_step_view_shows_tasks_with_their_own_result(capsys) -> None:
    progress = Progress(DEFINITION, prefix="[a] ")
    for event in _events():
        progress(event)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "[a] -> Train"
    assert lines[1] == "[a]    ! InvalidCallLog: no rows"
    assert lines[2].startswith("[a] <- Train (") and lines[2].endswith(
        "s)  model_version=v1 roc_auc=0.7235")
    assert lines[3:] == ["[a] -> Wait", "[a]    outcome: deployed", "[a] == Succeeded"]


def test_the_whole_output_view_shows_every_state_with_its_output(capsys) -> None:
    progress = Progress(DEFINITION, whole_outputs=True)
    for event in _events():
        progress(event)
    lines = capsys.readouterr().out.splitlines()
    assert "-> Start" in lines and "-> OutcomeDeployed" in lines
    train = next(line for line in lines if line.startswith("<- Train"))
    assert '"train": {"model_version": "v1"' in train


def test_a_failed_task_whose_result_stayed_empty_says_it_failed(capsys) -> None:
    """A caught failure leaves the task's result slot as the run's empty placeholder: the line
    says the task failed rather than nothing."""
    progress = Progress(DEFINITION)
    for event in [{"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "Train"}},
                  {"type": "LambdaFunctionFailed", "lambdaFunctionFailedEventDetails": {
                      "error": "LogTooLarge", "cause": json.dumps({"errorMessage": "big"})}},
                  {"type": "TaskStateExited", "stateExitedEventDetails": {
                      "name": "Train", "output": json.dumps({"train": {}, "error": {}})}}]:
        progress(event)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("<- Train (")
    assert lines[-1].endswith("failed (caught: see the error above)")


def test_a_map_state_prints_as_it_is_entered_and_left(capsys) -> None:
    definition = json.dumps({"StartAt": "Parts", "States": {
        "Parts": {"Type": "Map", "ResultPath": None, "End": True}}})
    progress = Progress(definition)
    progress({"type": "MapStateEntered", "stateEnteredEventDetails": {"name": "Parts"}})
    progress({"type": "MapStateExited", "stateExitedEventDetails": {"name": "Parts",
                                                                      "output": "{}"}})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "-> Parts" and lines[1].startswith("<- Parts (")
