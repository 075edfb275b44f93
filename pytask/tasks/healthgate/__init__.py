"""HealthGate@1's parts: inputs (spec), scope (targets -> computers and windows), sources (Log
Analytics, metrics, alerts), query limits, the evaluation loop and the report."""
