"""`TaskContext`: everything a task body uses to talk to the agent."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytask.agent.commands import IssueType, TaskResult
from pytask.agent.definition import TaskDefinition
from pytask.agent.environment import AgentEnvironment
from pytask.agent.inputs import Inputs
from pytask.agent.output import TaskOutput
from pytask.agent.summary import Summary


class Variables:
    """Job variables by their pipeline names (`System.DefaultWorkingDirectory`)."""

    def __init__(self, environment: AgentEnvironment) -> None:
        self._env = environment

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self._env.variable(name)
        return default if value is None else value

    def require(self, name: str) -> str:
        value = self._env.variable(name)
        if not value:
            raise KeyError(f"the agent did not set the variable {name}")
        return value

    def boolean(self, name: str) -> bool:
        return (self._env.variable(name) or "").strip().lower() == "true"


class TaskContext:
    def __init__(
        self,
        definition: TaskDefinition,
        environment: AgentEnvironment,
        inputs: Inputs,
        output: TaskOutput,
    ) -> None:
        self.definition = definition
        self.inputs = inputs
        self.variables = Variables(environment)
        self.output = output
        self.summary = Summary()
        self.result = TaskResult.SUCCEEDED
        self.result_message = ""
        self._env = environment

    # -- logging -------------------------------------------------------------------------
    def log(self, text: str = "") -> None:
        for line in text.splitlines() or [""]:
            self.output.line(line)

    def debug(self, text: str) -> None:
        self.output.debug(text)

    def warning(
        self,
        text: str,
        *,
        code: str | None = None,
        source_path: str | None = None,
        line_number: int | None = None,
    ) -> None:
        """A warning issue: shown in the run's summary; the task still succeeds."""
        self.output.issue(
            IssueType.WARNING, text, code=code, source_path=source_path, line_number=line_number
        )

    def error(
        self,
        text: str,
        *,
        code: str | None = None,
        source_path: str | None = None,
        line_number: int | None = None,
    ) -> None:
        """An error issue without stopping; raise TaskError to fail the task instead."""
        self.output.issue(
            IssueType.ERROR, text, code=code, source_path=source_path, line_number=line_number
        )

    def section(self, text: str) -> None:
        self.output.section(text)

    @contextmanager
    def group(self, name: str) -> Iterator[None]:
        """A collapsible block in the log."""
        self.output.group_start(name)
        try:
            yield
        finally:
            self.output.group_end()

    def progress(self, percent: int, text: str = "") -> None:
        self.output.progress(percent, text)

    # -- secrets, outputs and variables --------------------------------------------------
    def add_secret(self, value: str) -> None:
        """Register a value obtained at run time (a SAS, a token) before it can be printed."""
        self.output.add_secret(value)

    def set_output(self, name: str, value: str, *, secret: bool = False) -> None:
        """Set an output variable declared in task.json (`outputVariables`)."""
        declared = self.definition.output_variable(name)
        if declared is None:
            known = ", ".join(v.name for v in self.definition.output_variables) or "none"
            raise ValueError(
                f"{name!r} is not an output variable of {self.definition.name} "
                f"(declared: {known}); add it to task.json first"
            )
        self.output.set_variable(declared.name, value, is_output=True, is_secret=secret)

    def set_variable(self, name: str, value: str, *, secret: bool = False) -> None:
        """Set a job variable for later steps (not an output of this task)."""
        self.output.set_variable(name, value, is_secret=secret)

    def attach(self, kind: str, name: str, path: Path) -> None:
        self.output.add_attachment(kind, name, str(path))

    # -- result --------------------------------------------------------------------------
    def succeeded_with_issues(self, message: str) -> None:
        """Finish as SucceededWithIssues (unless the task later fails)."""
        self.result = TaskResult.SUCCEEDED_WITH_ISSUES
        self.result_message = message

    # -- the agent's job environment -----------------------------------------------------
    @property
    def temp_dir(self) -> Path:
        """Agent.TempDirectory: cleaned by the agent after the job."""
        root = self._env.variable("Agent.TempDirectory") or tempfile.gettempdir()
        path = Path(root)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def job_temp_dir(self) -> Path | None:
        """Agent.TempDirectory when the agent gave one: a folder private to this job."""
        root = self._env.variable("Agent.TempDirectory")
        return Path(root) if root else None

    @property
    def access_token(self) -> str | None:
        """The job's OAuth token for Azure DevOps (SystemVssConnection)."""
        return self._env.access_token
