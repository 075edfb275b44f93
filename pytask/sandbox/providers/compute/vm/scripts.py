"""Optional: really run a VM application's commands (seed `executeScripts: true`, Linux only).

As the Linux VM application manager does, each application gets a working directory per
machine and version holding the package, saved under the application's package file name;
the install (or update, or remove) command runs there with `bash -c`, under a timeout. A
non-zero exit is reported in the manager's words: "Error executing command '...': command
terminated with exit status=N".

The command runs while the request is handled, so keep such commands short: this mode is for
demos and tests of real install scripts, not for large fleets.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import requests

from pytask.sandbox.providers.compute.gallery import media
from pytask.sandbox.providers.compute.vm.packages import PackageVersion

TIMEOUT_SECONDS = 60.0
# (owner id, machine, operation, package) -> error message or None
Runner = Callable[[str, str, str, PackageVersion], "str | None"]
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def supported() -> bool:
    return sys.platform.startswith("linux")


def work_dir(root: Path, machine: str, package: PackageVersion) -> Path:
    parts = (machine, package.application, package.version)
    return root.joinpath("vmapps", *(_UNSAFE.sub("_", p) for p in parts))


def _command(operation: str, package: PackageVersion) -> str:
    if operation == "Remove":
        return package.remove
    if operation == "Update" and package.update:
        return package.update
    return package.install


def run(
    root: Path,
    machine: str,
    operation: str,
    package: PackageVersion,
    verify: str | bool,
    timeout: float = TIMEOUT_SECONDS,
) -> str | None:
    """Run the operation's command for `package` on `machine`; the error message or None."""
    if not supported() or package.os_type.lower() != "linux":
        return None
    folder = work_dir(root, machine, package)
    folder.mkdir(parents=True, exist_ok=True)
    command = _command(operation, package)
    if operation != "Remove":
        try:
            response = media.get(package.media_link, verify, timeout)
        except requests.RequestException as exc:
            return f"Error downloading the package: {type(exc).__name__}"
        if response.status_code != 200:
            return f"Error downloading the package: HTTP {response.status_code}"
        (folder / (package.package_file_name or package.application)).write_bytes(response.content)
    try:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=folder,
            timeout=timeout,
            capture_output=True,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"Error executing command '{command}': command timed out after {timeout:g} seconds"
    if done.returncode != 0:
        return (
            f"Error executing command '{command}': command terminated with "
            f"exit status={done.returncode}"
        )
    return None
