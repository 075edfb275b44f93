"""A throwaway task for the agent protocol tests, run through `pytask run --module`.

It reports what it received, so the tests can check the environment `pytask run` built.
"""

from __future__ import annotations

import json
import os

from pytask.agent import TaskContext, TaskError, run_task

_SENSITIVE = ("SECRET_", "ENDPOINT_AUTH_", "INPUT_", "SYSTEM_ACCESSTOKEN")


def body(ctx: TaskContext) -> None:
    connection = ctx.inputs.connection("azureSubscription")
    package = ctx.inputs.path("package")
    report = {
        "resourceGroup": ctx.inputs.string("resourceGroup"),
        "osType": ctx.inputs.pick("osType"),
        "retries": ctx.inputs.integer("retries"),
        "dryRun": ctx.inputs.boolean("dryRun"),
        "regions": ctx.inputs.lines("regions"),
        "package": str(package) if package else None,
        "connection": {"id": connection.id, "url": connection.url, "scheme": connection.scheme},
        "subscription": connection.data_value("subscriptionId"),
        "has_key": bool(connection.parameter("serviceprincipalkey")),
        "has_token": bool(ctx.access_token),
        "leaked_env": sorted(
            k for k in os.environ if k.startswith(("SECRET_", "ENDPOINT_AUTH_", "INPUT_"))
        ),
        "ca": os.environ.get("REQUESTS_CA_BUNDLE"),
        "oidc": ctx.variables.get("System.OidcRequestUri"),
        "temp": str(ctx.temp_dir),
    }
    ctx.log("REPORT " + json.dumps(report))
    if ctx.inputs.string("resourceGroup") == "fail":
        raise TaskError("Resource group 'fail' is locked.")
    ctx.set_output("versionId", "v-1")


def main() -> int:
    return run_task("AgentFixture", body)


if __name__ == "__main__":
    raise SystemExit(main())
