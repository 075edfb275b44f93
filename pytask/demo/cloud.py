"""Reading the sandbox's state back through ARM, as the sandbox's service principal, with the
same cloud layer the tasks use (for the demo's own checks)."""

from __future__ import annotations

import functools
import os
from typing import Any

from pytask.cloud.arm import ArmClient
from pytask.cloud.session import CloudSession
from pytask.demo import world
from pytask.localrun import parse_connection


@functools.cache
def _client(ready_file: str) -> ArmClient:
    return CloudSession.from_connection(_connection(ready_file)).arm()


def _connection(ready_file: str) -> Any:
    import json
    from pathlib import Path

    ready = json.loads(Path(ready_file).read_text("utf-8"))
    os.environ["REQUESTS_CA_BUNDLE"] = os.environ["SSL_CERT_FILE"] = ready["ca_bundle"]
    return parse_connection(ready["connection"], Path(ready_file))


def arm_get(sandbox: world.Sandbox, path: str, api_version: str) -> Any:
    return _client(str(sandbox.ready_file)).request("GET", path, api_version)
