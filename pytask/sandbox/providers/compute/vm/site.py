"""The `Site` of one request: the gallery lookup, install faults, package download and timing
the VM models use, taken from the request context and the rest of the sandbox."""

from __future__ import annotations

from pathlib import Path

from pytask.sandbox.core import RequestContext
from pytask.sandbox.core.provider import Runtime
from pytask.sandbox.core.world import World
from pytask.sandbox.providers.compute.gallery import media
from pytask.sandbox.providers.compute.gallery.models import ApplicationVersion, find_version
from pytask.sandbox.providers.compute.vm import scripts
from pytask.sandbox.providers.compute.vm.failures import InstallFaults
from pytask.sandbox.providers.compute.vm.models import Site, executes_scripts, install_seconds
from pytask.sandbox.providers.compute.vm.packages import PackageVersion

# The state directory of each running world (from the start hook): where scripts run.
_STATE_DIRS: dict[int, Path] = {}


def on_start(runtime: Runtime) -> None:
    _STATE_DIRS[id(runtime.world)] = runtime.state_dir


def _script_runner(world: World, verify: str | bool) -> scripts.Runner:
    root = _STATE_DIRS.get(id(world))

    def run(owner: str, machine: str, operation: str, package: PackageVersion) -> str | None:
        if root is None or not executes_scripts(world, owner):
            return None
        return scripts.run(root, machine, operation, package, verify)

    return run


def as_package(version: ApplicationVersion) -> PackageVersion:
    return PackageVersion(
        id=version.id,
        application=version.application,
        version=version.version,
        os_type=version.os_type,
        regions=version.regions,
        media_link=version.media_link,
        install=version.install,
        remove=version.remove,
        update=version.update,
        package_file_name=version.package_file_name,
        ready=version.ready,
    )


def install_faults(ctx: RequestContext) -> InstallFaults:
    return InstallFaults.from_json(ctx.fault_sections.get("vmApplicationFailures"))


def for_request(ctx: RequestContext) -> Site:
    now = ctx.clock.now()
    world = ctx.world
    verify = world.endpoints.get("ca_bundle") or media.trust()
    fetched: dict[str, str | None] = {}

    def lookup(reference: str) -> PackageVersion | None:
        version = find_version(world, reference, now)
        return None if version is None else as_package(version)

    def fetch(package: PackageVersion) -> str | None:
        # One download per package and request: every machine of the operation gets that copy.
        if package.media_link not in fetched:
            check = media.fetch(package.media_link, verify)
            fetched[package.media_link] = (
                None if check.ok else f"Error downloading the package: {check.problem}"
            )
        return fetched[package.media_link]

    return Site(
        now=now,
        install_time=lambda owner: ctx.clock.scaled(install_seconds(world, owner)),
        lookup=lookup,
        faults=install_faults(ctx),
        find=world.get,
        fetch=fetch,
        scale=ctx.clock.scaled,
        run_script=_script_runner(world, verify),
    )
