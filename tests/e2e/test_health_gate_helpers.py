"""Arranging helpers for the HealthGate tests (plain ARM reads as the sandbox's principal)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import RunningSandbox


def arm_get(sandbox: RunningSandbox, path: str, api_version: str) -> Any:
    from pytask.cloud.session import CloudSession
    from pytask.localrun import parse_connection

    # The sandbox's CA for this call only: a process-wide setting outlives the sandbox and
    # breaks whatever verifies TLS next (pip in `make bench` found a deleted CA file).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", sandbox.ca_bundle)
        patch.setenv("SSL_CERT_FILE", sandbox.ca_bundle)
        connection = parse_connection(sandbox.ready["connection"], sandbox.ready_file)
        with CloudSession.from_connection(connection).arm() as arm:
            return arm.request("GET", path, api_version)
