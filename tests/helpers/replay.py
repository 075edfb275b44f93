"""What the example-replay tests share: the committed REST examples, a seeded sandbox for one
module, and a `CloudSession` on it built exactly as a task builds one from its connection."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytask.cloud import CloudSession
from pytask.localrun import read_connection_file
from tests.conftest import RunningSandbox, start_sandbox


def load_example(folder: Path, name: str) -> dict[str, Any]:
    # A committed copy: missing means a broken checkout, which must fail, not skip.
    return dict(json.loads((folder / f"{name}.json").read_text()))


@contextmanager
def seeded_sandbox(
    tmp_path_factory: pytest.TempPathFactory,
    label: str,
    seed: dict[str, Any],
    time_scale: float = 0.005,
) -> Iterator[RunningSandbox]:
    state = tmp_path_factory.mktemp(label) / "state"
    running = start_sandbox(state, seed=yaml.safe_dump(seed), time_scale=time_scale)
    try:
        yield running
    finally:
        running.stop()


@contextmanager
def cloud_session(running: RunningSandbox) -> Iterator[CloudSession]:
    """The ready-file's connection as a task would use it, trusting the sandbox's CA."""
    patch = pytest.MonkeyPatch()
    for name, value in running.env.items():
        patch.setenv(name, value)
    try:
        source = read_connection_file(running.ready_file, None)
        yield CloudSession.from_connection(source.connection)
    finally:
        patch.undo()
