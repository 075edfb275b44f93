"""Azure Monitor in the sandbox: Log Analytics workspaces and their query data plane (KQL run by
duckdb-kql over tables generated from a telemetry model), platform metrics (ARM and the
regional metrics:getBatch data plane) and fired alerts, all derived from the same model.
See docs/sandbox-monitor.md."""
