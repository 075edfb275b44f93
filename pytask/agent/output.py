"""The one way a task writes to the agent: plain lines, formatting lines and logging commands,
every one of them masked.

Secret registrations (`task.setsecret`) and secret variables (`task.setvariable
issecret=true`) must carry the value itself to the agent, so they are the only lines written
unmasked, and only after the value was registered.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

from pytask.agent.commands import (
    COMMAND_PREFIX,
    IssueType,
    TaskResult,
    bool_text,
    format_command,
    format_line,
)
from pytask.agent.masking import MaskingStream, SecretMasker


class TaskOutput:
    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        debug: bool = False,
        masker: SecretMasker | None = None,
    ) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self.debug_enabled = debug
        self.masker = masker if masker is not None else SecretMasker()
        self._captures: list[MaskingStream] = []

    # -- secrets -------------------------------------------------------------------------
    def add_secret(self, value: str) -> None:
        """Register a secret with the agent (before it could ever be printed) and mask it here."""
        for part in self.masker.add(value):
            self._write(format_command("task.setsecret", None, part), mask=False)

    # -- plain and formatting lines ------------------------------------------------------
    def line(self, text: str = "") -> None:
        self._write(neutralize(text))

    def debug(self, text: str) -> None:
        if self.debug_enabled:
            for part in text.splitlines() or [""]:
                self._write(format_line("debug", neutralize(part)))

    def section(self, text: str) -> None:
        self._write(format_line("section", neutralize(_one_line(text))))

    def group_start(self, name: str) -> None:
        self._write(format_line("group", neutralize(_one_line(name))))

    def group_end(self) -> None:
        self._write(format_line("endgroup"))

    # -- logging commands ----------------------------------------------------------------
    def command(
        self, command: str, properties: Mapping[str, str | None] | None = None, message: str = ""
    ) -> None:
        masked = {k: (self.masker.mask(v) if v else v) for k, v in (properties or {}).items()}
        self._write(format_command(command, masked, self.masker.mask(message)))

    def issue(
        self,
        kind: IssueType,
        message: str,
        *,
        source_path: str | None = None,
        line_number: int | None = None,
        column_number: int | None = None,
        code: str | None = None,
    ) -> None:
        self.command(
            "task.logissue",
            {
                "type": kind.value,
                "sourcepath": source_path,
                "linenumber": None if line_number is None else str(line_number),
                "columnnumber": None if column_number is None else str(column_number),
                "code": code,
            },
            message,
        )

    def set_variable(
        self, name: str, value: str, *, is_output: bool = False, is_secret: bool = False
    ) -> None:
        properties = {
            "variable": name,
            "isOutput": bool_text(is_output),
            "issecret": bool_text(is_secret),
        }
        if is_secret:
            self.add_secret(value)
            self._write(format_command("task.setvariable", properties, value), mask=False)
        else:
            self.command("task.setvariable", properties, value)

    def progress(self, percent: int, text: str = "") -> None:
        value = max(0, min(100, int(percent)))
        self.command("task.setprogress", {"value": str(value)}, text)

    def upload_summary(self, path: str) -> None:
        self.command("task.uploadsummary", None, path)

    def add_attachment(self, kind: str, name: str, path: str) -> None:
        self.command("task.addattachment", {"type": kind, "name": name}, path)

    def prepend_path(self, path: str) -> None:
        self.command("task.prependpath", None, path)

    def complete(self, result: TaskResult, message: str = "") -> None:
        self.command("task.complete", {"result": result.value}, message)

    # -- capture of stray output ---------------------------------------------------------
    @contextmanager
    def capture_std_streams(self) -> Iterator[None]:
        """Route print(), logging and tracebacks through the masker while a task runs."""
        saved = sys.stdout, sys.stderr
        out, err = MaskingStream(saved[0], self.masker), MaskingStream(saved[1], self.masker)
        self._captures = [out, err]
        sys.stdout, sys.stderr = out, err
        try:
            yield
        finally:
            out.flush()
            err.flush()
            sys.stdout, sys.stderr = saved
            self._captures = []

    def _write(self, line: str, *, mask: bool = True) -> None:
        # Keep ordering with stray output buffered in the capturing streams.
        for capture in self._captures:
            capture.flush()
        text = self.masker.mask(line) if mask else line
        self._stream.write(text + "\n")
        self._stream.flush()


def neutralize(text: str) -> str:
    """Text we log may come from outside (an Azure error, a resource tag): the agent would
    run a `##vso[` found anywhere in a line, or format a line starting with `##[`, so both
    are broken with a zero-width space, which reads the same in the log."""
    text = text.replace(COMMAND_PREFIX, "##\u200bvso[")
    return "#\u200b#[" + text[3:] if text.startswith("##[") else text


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())
