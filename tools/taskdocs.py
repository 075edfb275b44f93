"""Generates the task reference docs/tasks/<Task>.md from each task.json.

task.json is the single source of every input, default and output; the generated page adds
nothing by hand. Hand-written examples live in docs/tasks/<Task>.examples.md and are
included verbatim, so regenerating never loses them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from project import DOCS_TASKS, TASK_NAMES, JsonObject, package_version, stamp_task, task_json

CONNECTION_PLACEHOLDER = "my-azure-connection"


def cell(text: Any) -> str:
    """Text safe inside one Markdown table cell."""
    return str(text).replace("\r", "").replace("\n", " ").replace("|", "\\|").strip()


def code(text: Any) -> str:
    return f"`{text}`" if str(text) != "" else ""


def major(task: JsonObject) -> int:
    return int(task["version"]["Major"])


def type_description(field: JsonObject) -> str:
    if field["type"] == "pickList":
        return " \\| ".join(f"`{option}`" for option in field.get("options", {}))
    return code(field["type"])


def yaml_value(field: JsonObject) -> str:
    default = str(field.get("defaultValue", ""))
    if default == "":
        return ""
    if field["type"] in ("boolean", "int"):
        return default
    return "'" + default.replace("'", "''") + "'"


def snippet_comment(field: JsonObject) -> str:
    if field["type"] == "pickList":
        kind = " | ".join(f"'{option}'" for option in field.get("options", {}))
    else:
        kind = field["type"]
    parts = [kind]
    parts += [f"Alias: {alias}" for alias in field.get("aliases", [])]
    if field.get("required"):
        parts.append("Required")
    parts.append(field["label"])
    if str(field.get("defaultValue", "")) != "":
        parts.append(f"Default: {field['defaultValue']}")
    return ". ".join(parts) + "."


def yaml_snippet(task: JsonObject) -> list[str]:
    lines = ["```yaml", f"# {task['friendlyName']} v{major(task)}"]
    lines += [f"- task: {task['name']}@{major(task)}", "  inputs:"]
    for field in task["inputs"]:
        value = yaml_value(field)
        head = f"    {field['name']}: {value}" if value else f"    {field['name']}:"
        lines.append(f"{head} # {snippet_comment(field)}")
    return [*lines, "```"]


def input_row(field: JsonObject) -> str:
    name = code(field["name"])
    aliases = field.get("aliases", [])
    if aliases:
        name += "<br>alias " + ", ".join(code(alias) for alias in aliases)
    help_text = field.get("helpMarkDown", "")
    if field.get("visibleRule"):
        help_text += f" Shown when `{field['visibleRule']}`."
    columns = [
        name,
        cell(field["label"]),
        type_description(field),
        cell(code(field.get("defaultValue", ""))),
        "yes" if field.get("required") else "no",
        cell(help_text),
    ]
    return "| " + " | ".join(columns) + " |"


def input_sections(task: JsonObject) -> list[str]:
    groups: list[tuple[str | None, str]] = [(None, "General")]
    groups += [(group["name"], group["displayName"]) for group in task.get("groups", [])]
    lines = ["## Inputs", ""]
    for group, title in groups:
        fields = [f for f in task["inputs"] if f.get("groupName") == group]
        if not fields:
            continue
        lines += [f"### {title}", "", "| Input (YAML) | Label | Type | Default | Required | Help |"]
        lines.append("| --- | --- | --- | --- | --- | --- |")
        lines += [input_row(field) for field in fields]
        lines.append("")
    return lines


def step_name(task: JsonObject) -> str:
    name = str(task["name"])
    return name[0].lower() + name[1:]


def output_section(task: JsonObject) -> list[str]:
    outputs = task.get("outputVariables", [])
    if not outputs:
        return []
    step = step_name(task)
    lines = ["## Output variables", ""]
    lines += [
        f"Output variables are set with `isOutput=true`. Give the step a `name` (here `{step}`)",
        f"and read them as `$({step}.<name>)` later in the same job, or as",
        f"`dependencies.<job>.outputs['{step}.<name>']` from another job.",
        "",
        "| Name | Description |",
        "| --- | --- |",
    ]
    lines += [f"| {code(o['name'])} | {cell(o.get('description', ''))} |" for o in outputs]
    return [*lines, ""]


def minimal_example(task: JsonObject) -> list[str]:
    """The shortest valid step: required inputs without a default, and one output read."""
    step = step_name(task)
    lines = ["## Minimal example", "", "```yaml", "steps:"]
    lines += [f"  - task: {task['name']}@{major(task)}", f"    name: {step}", "    inputs:"]
    for field in task["inputs"]:
        if not field.get("required") or str(field.get("defaultValue", "")) != "":
            continue
        connected = field["type"].startswith("connectedService")
        value = CONNECTION_PLACEHOLDER if connected else f"$({field['name']})"
        lines.append(f"      {field['name']}: {value}")
    outputs = task.get("outputVariables", [])
    if outputs:
        lines.append(f'  - script: echo "$({step}.{outputs[0]["name"]})"')
    return [*lines, "```", ""]


def facts(task: JsonObject) -> list[str]:
    handlers = " and ".join(sorted(task.get("execution", {})))
    return [
        f"- YAML: `{task['name']}@{major(task)}` (version {package_version()})",
        f"- Category: {task['category']}",
        f"- Agent: {task['minimumAgentVersion']} or later (handlers {handlers}), with Python 3.10+",
        "",
    ]


def render(task: JsonObject, examples: str | None) -> str:
    name = task["name"]
    lines = [
        f"<!-- Generated from tasks/{name}/task.json by `make docs`. Do not edit: change "
        f"task.json, or docs/tasks/{name}.examples.md for examples. -->",
        "",
        f"# {task['friendlyName']} (`{name}@{major(task)}`)",
        "",
        task["description"],
        "",
        *facts(task),
        "## YAML snippet",
        "",
        *yaml_snippet(task),
        "",
        *input_sections(task),
        *output_section(task),
        *minimal_example(task),
    ]
    text = "\n".join(lines)
    if examples:
        text += "\n" + examples.strip() + "\n"
    return text


def expected() -> Iterable[tuple[str, str]]:
    version = package_version()
    for name in TASK_NAMES:
        extra = DOCS_TASKS / f"{name}.examples.md"
        examples = extra.read_text("utf-8") if extra.exists() else None
        yield name, render(stamp_task(task_json(name), version), examples)


def write() -> int:
    DOCS_TASKS.mkdir(parents=True, exist_ok=True)
    for name, text in expected():
        (DOCS_TASKS / f"{name}.md").write_text(text, "utf-8")
        print(f"wrote docs/tasks/{name}.md")
    return 0


def check() -> int:
    stale = [
        name
        for name, text in expected()
        if not (DOCS_TASKS / f"{name}.md").exists()
        or (DOCS_TASKS / f"{name}.md").read_text("utf-8") != text
    ]
    for name in stale:
        print(f"docs/tasks/{name}.md is out of date with its task.json: run `make docs`")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(check() if "--check" in sys.argv else write())
