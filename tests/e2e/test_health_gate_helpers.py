"""Arranging helpers for the HealthGate tests (plain ARM reads as the sandbox's principal)."""

from __future__ import annotations

import os
from typing import Any

from tests.conftest import RunningSandbox


def arm_get(sandbox: RunningSandbox, path: str, api_version: str) -> Any:
    from pytask.cloud.session import CloudSession
    from pytask.localrun import parse_connection

    os.environ["REQUESTS_CA_BUNDLE"] = sandbox.ca_bundle
    os.environ["SSL_CERT_FILE"] = sandbox.ca_bundle
    connection = parse_connection(sandbox.ready["connection"], sandbox.ready_file)
    with CloudSession.from_connection(connection).arm() as arm:
        return arm.request("GET", path, api_version)
