"""What the task hands on: output variables (declared ones, and one per template output)
and the run summary."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pytask.agent import TaskContext

_VARIABLE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


@dataclass
class Outcome:
    action: str  # created | reused | recreated | deleted | already gone | swept
    kind: str
    name: str
    environment_id: str = ""
    group_id: str = ""
    vm_ids: list[str] = field(default_factory=list)
    lab_vm_ids: list[str] = field(default_factory=list)
    fqdns: list[str] = field(default_factory=list)
    private_ips: list[str] = field(default_factory=list)
    # ARM outputs: name -> (type, value or None when ARM keeps a secure value back)
    template_outputs: dict[str, tuple[str, Any]] = field(default_factory=dict)


def publish_outputs(ctx: TaskContext, outcome: Outcome) -> None:
    ctx.set_output("environmentResourceId", outcome.environment_id)
    ctx.set_output("environmentResourceGroupId", outcome.group_id)
    ctx.set_output("vmResourceIds", json.dumps(outcome.vm_ids))
    ctx.set_output("labVmIds", json.dumps(outcome.lab_vm_ids))
    ctx.set_output("fqdns", json.dumps(outcome.fqdns))
    ctx.set_output("privateIps", json.dumps(outcome.private_ips))
    declared = {v.name.lower() for v in ctx.definition.output_variables}
    for name, (kind, value) in outcome.template_outputs.items():
        secure = kind.lower().startswith("secure")
        if value is None and secure:
            # By design: ARM never returns a secure output's value, so there is nothing to set.
            ctx.log(f"Template output '{name}' is a {kind}: ARM never returns its value; not set.")
            continue
        if value is None or not _VARIABLE.match(name):
            ctx.warning(f"Template output '{name}' ({kind}) is not readable; not set.")
            continue
        if name.lower() in declared:
            ctx.warning(f"Template output '{name}' has the name of a task output; not set.")
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        # Template outputs are dynamic, so they bypass set_output's task.json check.
        ctx.output.set_variable(name, text, is_output=True, is_secret=secure)


def write_summary(ctx: TaskContext, outcome: Outcome, lines: list[str] | None = None) -> None:
    summary = ctx.summary.heading(f"DevTest Labs: {outcome.kind} {outcome.name}".rstrip())
    pairs = [("Result", outcome.action)]
    if outcome.environment_id:
        pairs.append(("Environment", outcome.environment_id))
    if outcome.group_id:
        pairs.append(("Resource group", outcome.group_id))
    summary.key_values(pairs)
    if outcome.vm_ids:
        summary.table(["VM", "Private IP"], _rows(outcome))
    if lines:
        summary.bullets(lines)


def _rows(outcome: Outcome) -> list[list[str]]:
    ips = outcome.private_ips + [""] * len(outcome.vm_ids)
    return [[vm, ips[i]] for i, vm in enumerate(outcome.vm_ids)]
