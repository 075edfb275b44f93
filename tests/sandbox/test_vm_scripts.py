"""`executeScripts: true`: the sandbox really runs a VM application's install command in a
per-machine working directory holding the package (Linux only)."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import start_sandbox
from tests.e2e.test_deploy_world import RG, Arm, Sandbox, base_seed, publish_version

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="scripts run on Linux only"),
]


def test_install_commands_really_run(tmp_path: Path) -> None:
    seed = base_seed(
        {"virtualMachines": [{"name": "vm-s", "resourceGroup": RG, "executeScripts": True}]}
    )
    state = tmp_path / "state"
    sandbox = Sandbox(start_sandbox(state, seed=yaml.safe_dump(seed), time_scale=0.002))
    try:
        arm = Arm(sandbox)
        good = publish_version(
            sandbox, arm, "webapp", "1.0.0",
            manageActions={"install": "python3 -m zipfile -e webapp . && sh install.sh > out.txt",
                           "remove": "true"},
        )  # fmt: skip
        bad = publish_version(
            sandbox, arm, "webapp", "2.0.0", manageActions={"install": "exit 3", "remove": "true"}
        )
        vm = sandbox.vm_id("vm-s")
        for version in (good, bad):
            arm.patch(vm, {"properties": {"applicationProfile": {"galleryApplications": [
                {"packageReferenceId": version}]}}})  # fmt: skip
            arm.settle(vm)
        view = arm.get(vm + "/instanceView")
    finally:
        sandbox.stop()
    folder = state / "vmapps" / "vm-s" / "webapp" / "1.0.0"
    assert zipfile.is_zipfile(folder / "webapp")
    assert (folder / "out.txt").read_text() == "installed\n"
    message = view["extensions"][0]["statuses"][0]["message"]
    assert (
        "Update FAILED Error executing command 'exit 3': command terminated with exit status=3"
        in message
    )
