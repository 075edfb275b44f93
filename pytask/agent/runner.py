"""`run_task`: the one entry point every task module uses.

Order matters: secrets are registered with the agent before anything else is printed; all
input problems are reported at once before the body runs; exactly one `task.complete` ends
the output; the process exit code is 0 whatever the result (the agent reads the result from
`task.complete`, as with task-lib).
"""

from __future__ import annotations

import signal
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from types import FrameType
from typing import TextIO

from pytask.agent.commands import IssueType, TaskResult
from pytask.agent.context import TaskContext
from pytask.agent.definition import DefinitionError, find_task_json, load_definition
from pytask.agent.environment import AgentEnvironment
from pytask.agent.errors import InputErrors, TaskError
from pytask.agent.inputs import Check, Inputs
from pytask.agent.output import TaskOutput

TaskBody = Callable[[TaskContext], None]


def run_task(
    task_name: str,
    body: TaskBody,
    *,
    checks: Iterable[Check[object]] = (),
    environ: MutableMapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> int:
    """Run `body` as the task `task_name` in the agent's environment; returns 0.

    `checks` are task-specific input rules validated together with task.json's.
    `environ` and `stream` default to os.environ and sys.stdout.
    """
    env = AgentEnvironment.capture(environ)
    output = TaskOutput(stream, debug=_debug_enabled(env))
    for secret in env.secret_values():
        output.add_secret(secret)
    with output.capture_std_streams(), _cancel_on_sigterm():
        result, message = _run(task_name, body, tuple(checks), env, output)
    output.complete(result, message)
    return 0


def _run(
    task_name: str,
    body: TaskBody,
    checks: tuple[Check[object], ...],
    env: AgentEnvironment,
    output: TaskOutput,
) -> tuple[TaskResult, str]:
    context: TaskContext | None = None
    try:
        definition = load_definition(find_task_json(task_name, env.public))
        inputs = Inputs(definition, env, checks)
        inputs.validate()
        context = TaskContext(definition, env, inputs, output)
        body(context)
        return context.result, context.result_message
    except InputErrors as exc:
        for message in exc.messages:
            output.issue(IssueType.ERROR, message)
        count = len(exc.messages)
        return TaskResult.FAILED, f"{count} input problem{'s' if count > 1 else ''}"
    except (TaskError, DefinitionError) as exc:
        output.issue(IssueType.ERROR, str(exc))
        return TaskResult.FAILED, _one_line(str(exc))
    except KeyboardInterrupt:
        output.issue(IssueType.ERROR, "The task was cancelled.")
        return TaskResult.FAILED, "cancelled"
    except Exception as exc:
        output.debug(traceback.format_exc())
        details = (
            "The traceback is in the debug output above."
            if output.debug_enabled
            else "Set the variable System.Debug to true to see the details."
        )
        text = _sentence(f"{type(exc).__name__}: {_one_line(str(exc))}")
        output.issue(IssueType.ERROR, f"The task failed unexpectedly: {text} {details}")
        return TaskResult.FAILED, f"unexpected {type(exc).__name__}"
    finally:
        if context is not None:
            _upload_summary(context, task_name)


def _upload_summary(context: TaskContext, task_name: str) -> None:
    if not context.summary:
        return
    try:
        path = context.temp_dir / f"{task_name}-summary-{uuid.uuid4().hex[:8]}.md"
        path.write_text(context.output.masker.mask(context.summary.markdown()), encoding="utf-8")
    except OSError as exc:
        context.warning(f"Could not write the task summary: {exc}")
        return
    context.output.upload_summary(str(path))


@contextmanager
def _cancel_on_sigterm() -> Iterator[None]:
    """The agent cancels a task with SIGINT, then SIGTERM: both end as a Failed result
    ("cancelled") rather than a silent death without task.complete."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _debug_enabled(env: AgentEnvironment) -> bool:
    return (env.variable("System.Debug") or "").strip().lower() == "true"


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "(no message)"
