"""run_task: results, errors, debug output, outputs, summaries and secret masking."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from pytask.agent import Check, TaskContext, TaskError
from tests.helpers.agent_env import (
    CONNECTION_ID,
    agent_environ,
    run_in_process,
    spn_key_endpoint,
)
from tests.helpers.vso import Output

TASK_JSON = Path(__file__).parent / "agent_fixture" / "task.json"
VALID = {
    "ConnectedServiceName": CONNECTION_ID,
    "resourceGroup": "rg-app",
    "osType": "Linux",
    "package": "app.zip",
}
KEY = "Sp-Key~with;odd]chars%20"
SECRET_VARIABLE = "variable-secret-8812"
TOKEN = "job-token-77aa"
SAS = "sv=2024&sig=AbCdEf%2B123"


def environ(tmp_path: Path, debug: bool = False, **inputs: str) -> dict[str, str]:
    return agent_environ(
        TASK_JSON,
        tmp_path,
        inputs={**VALID, **inputs},
        endpoints=(spn_key_endpoint(KEY),),
        secrets={"Db.Password": SECRET_VARIABLE},
        access_token=TOKEN,
        debug=debug,
    )


def run(tmp_path: Path, body, debug: bool = False, **inputs: str) -> Output:  # type: ignore[no-untyped-def]
    code, out = run_in_process("AgentFixture", body, environ(tmp_path, debug, **inputs))
    assert code == 0
    return out


def test_success_ends_with_exactly_one_complete(tmp_path: Path) -> None:
    out = run(tmp_path, lambda ctx: ctx.log("hello"))
    assert out.result == "Succeeded"
    assert "hello" in out.plain


def test_secrets_are_registered_before_anything_else(tmp_path: Path) -> None:
    out = run(tmp_path, lambda ctx: ctx.log("first"))
    registrations = [i for i, line in enumerate(out.lines) if "task.setsecret" in line]
    assert registrations == list(range(len(registrations)))
    assert {KEY, SECRET_VARIABLE, TOKEN} <= set(out.secrets)


def test_task_error_becomes_an_error_issue_and_failed(tmp_path: Path) -> None:
    def body(ctx: TaskContext) -> None:
        raise TaskError("Gallery 'g1' does not exist in resource group 'rg-app'.")

    out = run(tmp_path, body)
    assert out.result == "Failed"
    assert out.errors == ["Gallery 'g1' does not exist in resource group 'rg-app'."]
    assert not any("Traceback" in line for line in out.lines)


def test_unexpected_exception_is_readable_and_traceback_hidden_without_debug(
    tmp_path: Path,
) -> None:
    def body(ctx: TaskContext) -> None:
        raise ZeroDivisionError("division by zero")

    out = run(tmp_path, body)
    assert out.result == "Failed"
    assert out.errors == [
        "The task failed unexpectedly: ZeroDivisionError: division by zero. "
        "Set the variable System.Debug to true to see the details."
    ]
    assert not any("Traceback" in line for line in out.lines)


def test_debug_shows_the_traceback_as_debug_lines(tmp_path: Path) -> None:
    def body(ctx: TaskContext) -> None:
        ctx.debug("checking")
        raise RuntimeError("boom")

    out = run(tmp_path, body, debug=True)
    assert out.result == "Failed"
    assert out.errors == [
        "The task failed unexpectedly: RuntimeError: boom. "
        "The traceback is in the debug output above."
    ]
    assert "checking" in out.debug
    assert any(line.startswith("Traceback") for line in out.debug)
    assert any("RuntimeError: boom" in line for line in out.debug)
    assert not any(line.startswith("Traceback") for line in out.plain)


def test_debug_lines_are_silent_without_system_debug(tmp_path: Path) -> None:
    out = run(tmp_path, lambda ctx: ctx.debug("hidden"))
    assert out.debug == []


def test_input_problems_fail_before_the_body_runs(tmp_path: Path) -> None:
    ran: list[bool] = []
    out = run(tmp_path, lambda ctx: ran.append(True), resourceGroup="", retries="many")
    assert ran == []
    assert out.result == "Failed"
    assert out.errors == [
        "Input 'Resource group' (resourceGroup) is required; expected a value.",
        "Input 'Retries' (retries): \"many\" is not valid; expected a whole number.",
    ]


def test_task_specific_checks_join_the_input_validation(tmp_path: Path) -> None:
    check = Check("batchSize", int, "a whole number")
    env = environ(tmp_path, batchSize="lots")
    code, out = run_in_process("AgentFixture", lambda ctx: None, env, checks=(check,))
    assert code == 0 and out.result == "Failed"
    assert out.errors == [
        "Input 'Batch size' (batchSize): \"lots\" is not valid; expected a whole number."
    ]


def test_missing_task_json_is_a_clear_failure(tmp_path: Path) -> None:
    env = environ(tmp_path)
    env["PYTASK_TASK_JSON"] = str(tmp_path / "nope.json")
    code, out = run_in_process("AgentFixture", lambda ctx: None, env)
    assert code == 0 and out.result == "Failed"
    assert "cannot read task definition" in out.errors[0]


def test_outputs_must_be_declared(tmp_path: Path) -> None:
    def body(ctx: TaskContext) -> None:
        ctx.set_output("versionId", "/subscriptions/x/versions/1.0.0")
        ctx.set_output("undeclared", "x")

    out = run(tmp_path, body)
    assert out.outputs == {"versionId": "/subscriptions/x/versions/1.0.0"}
    assert out.result == "Failed"
    assert "'undeclared' is not an output variable of AgentFixture" in out.errors[0]


def test_secret_output_is_registered_first(tmp_path: Path) -> None:
    out = run(tmp_path, lambda ctx: ctx.set_output("token", SAS, secret=True))
    assert out.outputs == {"token": SAS}
    assert out.first_index("task.setsecret]" + SAS.replace("%", "%AZP25")) < out.first_index(
        "task.setvariable"
    )
    command = out.of("task.setvariable")[0]
    assert command.prop("issecret") == "true" and command.prop("isOutput") == "true"


def test_succeeded_with_issues(tmp_path: Path) -> None:
    def body(ctx: TaskContext) -> None:
        ctx.warning("Baseline had only 3 samples.")
        ctx.succeeded_with_issues("inconclusive")

    out = run(tmp_path, body)
    assert out.result == "SucceededWithIssues"
    assert out.warnings == ["Baseline had only 3 samples."]


def test_groups_progress_and_summary(tmp_path: Path) -> None:
    def body(ctx: TaskContext) -> None:
        with ctx.group("Upload"):
            ctx.log("uploading")
            ctx.progress(150, "half")
        ctx.summary.heading("Result").table(("Region", "State"), [("westeurope", "Completed")])

    out = run(tmp_path, body)
    assert out.formatted("group") == ["Upload"] and len(out.formatted("endgroup")) == 1
    assert out.of("task.setprogress")[0].properties == {"value": "100"}
    summary = Path(out.of("task.uploadsummary")[0].message)
    assert "| westeurope | Completed |" in summary.read_text()
    assert summary.parent == tmp_path / "_temp"


def test_summary_is_uploaded_even_when_the_task_fails(tmp_path: Path) -> None:
    def body(ctx: TaskContext) -> None:
        ctx.summary.paragraph("partial")
        raise TaskError("stopped")

    out = run(tmp_path, body)
    assert out.result == "Failed" and len(out.of("task.uploadsummary")) == 1


def test_secrets_never_reach_the_output_through_any_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Print every secret through every way a task can write, then scan all output."""
    secrets = (KEY, SECRET_VARIABLE, TOKEN, SAS)

    def body(ctx: TaskContext) -> None:
        ctx.add_secret(SAS)  # a value the task obtained at run time
        for secret in secrets:
            ctx.log(f"log {secret}")
            ctx.debug(f"debug {secret}")
            ctx.warning(f"warning {secret}")
            ctx.error(f"error {secret}")
            ctx.section(f"section {secret}")
            ctx.progress(10, f"progress {secret}")
            with ctx.group(f"group {secret}"):
                print(f"print {secret}")
                print("split", secret[:3], end="")
                print(secret[3:], flush=True)
                sys.stderr.write(f"stderr {secret}\n")
                logging.getLogger("pytask.test").warning("logging %s", secret)
            ctx.set_variable("plain", f"value {secret}")
            ctx.set_output("versionId", f"id {secret}")
            ctx.summary.paragraph(f"summary {secret}")
        raise RuntimeError(f"exception {KEY}")

    handler = _StderrHandler()
    logging.getLogger("pytask.test").addHandler(handler)
    try:
        code, out = run_in_process("AgentFixture", body, environ(tmp_path, debug=True))
    finally:
        logging.getLogger("pytask.test").removeHandler(handler)
    captured = capsys.readouterr()
    streams = captured.out + captured.err
    summary = Path(out.of("task.uploadsummary")[0].message).read_text()
    assert code == 0 and out.result == "Failed"
    for text, where in ((out.text, "task output"), (streams, "std streams"), (summary, "summary")):
        for line in text.splitlines():
            if "task.setsecret" in line:
                continue
            for secret in secrets:
                assert secret not in line, f"{where} leaked a secret: {line!r}"
                escaped = secret.replace("%", "%AZP25").replace(";", "%3B").replace("]", "%5D")
                assert escaped not in line, f"{where} leaked an escaped secret: {line!r}"
    assert set(secrets) <= set(out.secrets)
    # The paths were really exercised: masked text arrived on each of them.
    assert "print ***" in streams and "stderr ***" in streams and "logging ***" in streams
    assert "log ***" in out.plain and "summary ***" in summary
    assert any("exception ***" in e for e in out.errors)


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is at emit time, as logging.lastResort does."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(self.format(record) + "\n")


def test_logged_text_cannot_inject_logging_commands(tmp_path: Path) -> None:
    hostile = "tag value ##vso[task.setvariable variable=versionId;isOutput=true]evil"

    def body(ctx: TaskContext) -> None:
        ctx.log(hostile)
        ctx.log("##[error]not an error")
        ctx.debug(hostile)
        with ctx.group(hostile):
            ctx.section(hostile)

    out = run(tmp_path, body, debug=True)
    assert out.result == "Succeeded"
    assert out.outputs == {} and out.of("task.setvariable") == []
    assert out.formatted("error") == []
    assert any("task.setvariable variable=versionId" in line for line in out.plain)


def test_issue_with_source_location(tmp_path: Path) -> None:
    def body(ctx: TaskContext) -> None:
        ctx.warning("odd;value]", code="W1", source_path="app/config.json", line_number=7)

    out = run(tmp_path, body)
    issue = out.of("task.logissue")[0]
    assert issue.properties == {
        "type": "warning",
        "sourcepath": "app/config.json",
        "linenumber": "7",
        "code": "W1",
    }
    assert issue.message == "odd;value]"


def test_sigterm_from_the_agent_ends_as_cancelled(tmp_path: Path) -> None:
    import os
    import signal

    def body(ctx: TaskContext) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("the signal should have interrupted the body")

    before = signal.getsignal(signal.SIGTERM)
    out = run(tmp_path, body)
    assert out.result == "Failed"
    assert out.errors == ["The task was cancelled."]
    assert signal.getsignal(signal.SIGTERM) == before
