"""Health analysis for HealthGate: rules and statistics as pure functions, no I/O."""
