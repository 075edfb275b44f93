"""The Azure Pipelines task protocol for Python: what azure-pipelines-task-lib does for Node.

Imports nothing Azure: only the agent's environment variables and ##vso logging commands.

A task module is::

    from pytask.agent import TaskContext, TaskError, run_task

    def body(ctx: TaskContext) -> None:
        group = ctx.inputs.string("resourceGroup")
        connection = ctx.inputs.connection("azureSubscription")
        with ctx.group("Publishing"):
            ...
        ctx.set_output("applicationVersionId", version_id)

    def main() -> int:
        return run_task("PublishVmApp", body)
"""

from pytask.agent.commands import IssueType, TaskResult
from pytask.agent.connection import LOCAL_CLI_SCHEME, ServiceConnection
from pytask.agent.context import TaskContext, Variables
from pytask.agent.definition import InputDefinition, TaskDefinition, load_definition
from pytask.agent.errors import InputErrors, TaskError
from pytask.agent.inputs import Check, Inputs
from pytask.agent.runner import run_task
from pytask.agent.summary import Summary

__all__ = [
    "LOCAL_CLI_SCHEME",
    "Check",
    "InputDefinition",
    "InputErrors",
    "Inputs",
    "IssueType",
    "ServiceConnection",
    "Summary",
    "TaskContext",
    "TaskDefinition",
    "TaskError",
    "TaskResult",
    "Variables",
    "load_definition",
    "run_task",
]
