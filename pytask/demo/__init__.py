"""`pytask demo`: a dev -> test -> prod release of a sample application on the local sandbox:
templates/vm-app-release.yml (through pipeline.yml) expanded and run as Azure Pipelines would,
our tasks through their packaged launchers.
Version 1.0.0 goes all the way to prod; 1.1.0, unhealthy in the seeded telemetry, is stopped
by the health gate in test, rolled back, and never reaches prod. Exit code 0 only if all of
that happened (pytask/demo/expect.py checks the outcome and the cloud's state)."""

from pytask.demo.main import main

__all__ = ["main"]
