"""What the Azure Pipelines agent sees in a task's output: a parser of ##vso logging commands
and ##[...] formatting lines, written independently of pytask.agent from the agent's own
rules (Agent.Worker Command.TryParse, Agent.Sdk CommandStringConvertor):

- a command starts at the first `##vso[` anywhere in a line and ends at the next `]`;
- inside, `area.event` then, after the first space, `key=value` pairs split on `;`
  (empty entries dropped, nothing trimmed);
- values and the message are unescaped: `%3B`, `%0D`, `%0A`, `%5D` first, `%AZP25` last.

Every task test asserts on this, so it asserts on what the agent would do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PREFIX = "##vso["
# The agent reads lines like .NET's ReadLine: only CR, LF and CRLF end a line (not U+0085,
# U+2028 and the other breaks Python's str.splitlines knows).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_UNESCAPES = (("%3B", ";"), ("%0D", "\r"), ("%0A", "\n"), ("%5D", "]"))


def unescape(text: str) -> str:
    for escaped, token in _UNESCAPES:
        text = text.replace(escaped, token)
    return text.replace("%AZP25", "%")


@dataclass(frozen=True)
class Command:
    name: str  # area.event, e.g. "task.setvariable"
    properties: dict[str, str]
    message: str

    def prop(self, key: str) -> str | None:
        for name, value in self.properties.items():
            if name.lower() == key.lower():
                return value
        return None


def parse_command(line: str) -> Command | None:
    start = line.find(_PREFIX)
    if start < 0:
        return None
    end = line.find("]", start + len(_PREFIX))
    if end < 0:
        return None
    info = line[start + len(_PREFIX) : end]
    name, _, props_text = info.partition(" ")
    if "." not in name:
        return None
    properties: dict[str, str] = {}
    # As the agent: split on `;` and each pair at its first `=`, dropping empty entries;
    # nothing is trimmed.
    for part in props_text.split(";"):
        key, sep, value = part.partition("=")
        if key and sep and value:
            properties[key] = unescape(value)
    return Command(name.lower(), properties, unescape(line[end + 1 :]))


def parse_format(line: str) -> tuple[str, str] | None:
    """`##[group]Name` -> ("group", "Name")."""
    if not line.startswith("##[") or "]" not in line:
        return None
    kind, _, text = line[3:].partition("]")
    return kind.lower(), text


@dataclass
class Output:
    """A task's stdout, split the way the agent reads it."""

    text: str
    lines: list[str] = field(init=False)
    commands: list[Command] = field(init=False)

    def __post_init__(self) -> None:
        self.lines = _LINE_BREAK.split(self.text)
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        self.commands = [c for c in map(parse_command, self.lines) if c is not None]

    def of(self, name: str) -> list[Command]:
        return [c for c in self.commands if c.name == name.lower()]

    @property
    def result(self) -> str:
        """The task result; fails unless there is exactly one task.complete, at the end."""
        completes = self.of("task.complete")
        assert len(completes) == 1, f"expected one task.complete, got {len(completes)}"
        last_command = parse_command(self.lines[-1]) if self.lines else None
        assert last_command == completes[0], "task.complete is not the last line"
        return completes[0].properties["result"]

    def issues(self, kind: str = "error") -> list[str]:
        return [
            c.message
            for c in self.of("task.logissue") + self.of("task.issue")
            if c.prop("type") == kind
        ]

    @property
    def errors(self) -> list[str]:
        return self.issues("error")

    @property
    def warnings(self) -> list[str]:
        return self.issues("warning")

    @property
    def secrets(self) -> list[str]:
        return [c.message for c in self.of("task.setsecret")]

    def variables(self, *, output: bool | None = None) -> dict[str, str]:
        found: dict[str, str] = {}
        for c in self.of("task.setvariable"):
            is_output = (c.prop("isOutput") or "").lower() == "true"
            if output is None or output == is_output:
                found[c.properties["variable"]] = c.message
        return found

    @property
    def outputs(self) -> dict[str, str]:
        return self.variables(output=True)

    def formatted(self, kind: str) -> list[str]:
        return [f[1] for f in map(parse_format, self.lines) if f is not None and f[0] == kind]

    @property
    def debug(self) -> list[str]:
        return self.formatted("debug")

    @property
    def plain(self) -> list[str]:
        """Lines that are neither commands nor formatting lines."""
        return [
            line for line in self.lines if parse_command(line) is None and not parse_format(line)
        ]

    def first_index(self, predicate_text: str) -> int:
        for index, line in enumerate(self.lines):
            if predicate_text in line:
                return index
        raise AssertionError(f"{predicate_text!r} not in output")
