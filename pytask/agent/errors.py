"""Errors a task reports to its user as a clear message (never as a traceback)."""

from __future__ import annotations

from collections.abc import Sequence


class TaskError(Exception):
    """A failure the user can act on: its message becomes an error issue and the task fails.

    Raise it for expected problems (bad input, missing permission, resource in a bad state);
    any other exception is reported as an unexpected failure with its traceback as debug
    output.
    """


class InputErrors(TaskError):
    """One or more invalid inputs, reported together, one issue per problem."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = tuple(messages)
        super().__init__("\n".join(self.messages))
