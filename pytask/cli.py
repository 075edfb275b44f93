"""`pytask` command line: dispatches to the module that owns each command.

Commands are imported lazily so that running one task never imports the sandbox (or any
other command's dependencies).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

# Task name (the task.json `name`) -> module with `main() -> int`.
TASK_MODULES: dict[str, str] = {
    "PublishVmApp": "pytask.tasks.publish_vm_app",
    "DevTestLabEnv": "pytask.tasks.devtestlab_env",
    "DeployVmApp": "pytask.tasks.deploy_vm_app",
    "HealthGate": "pytask.tasks.health_gate",
}

# Sub-command -> module with `main(argv: list[str]) -> int`.
COMMAND_MODULES: dict[str, str] = {
    "run": "pytask.localrun",
    "sandbox": "pytask.sandbox.cli",
    "demo": "pytask.demo",
    "setup": "pytask.admin.cli",
    "approvals": "pytask.admin.cli",
}

USAGE = """usage: pytask <command> [args]

commands:
  run TASKNAME --connection FILE [--input NAME=VALUE ...] [--variable NAME=VALUE ...]
                      run one task exactly as the Azure Pipelines agent would
  sandbox serve ...   serve the local Azure cloud (see docs/sandbox.md)
  demo                run the dev -> test -> prod release on the sandbox
  setup environments  create Azure DevOps environments and their checks
  approvals list|approve|reject
                      pending approvals for release managers
  <TaskName>          (used by the task launcher) run a task in the agent's environment:
                      {tasks}
"""


def _run_task_module(name: str) -> int:
    try:
        module = importlib.import_module(TASK_MODULES[name])
    except Exception as exc:  # a broken install must still end in a Failed result, not a crash
        from pytask.agent.runner import run_task

        error = exc

        def report(_context: object) -> None:
            raise RuntimeError(f"the {name} task could not be loaded: {error}") from error

        return run_task(name, report)
    return int(module.main())


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE.format(tasks=", ".join(TASK_MODULES)))
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name in TASK_MODULES:
        return _run_task_module(name)
    if name in COMMAND_MODULES:
        module = importlib.import_module(COMMAND_MODULES[name])
        if COMMAND_MODULES[name] == "pytask.admin.cli":
            rest = [name, *rest]
        return int(module.main(rest))
    print(f"pytask: unknown command or task {name!r}", file=sys.stderr)
    print(USAGE.format(tasks=", ".join(TASK_MODULES)), file=sys.stderr)
    return 2
