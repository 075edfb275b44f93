"""The `Site` of one request: the gallery lookup, install faults, package download and timing
the VM models use, taken from the request context and the rest of the sandbox."""

from __future__ import annotations

from pytask.sandbox.core import RequestContext
from pytask.sandbox.providers.compute.gallery import media
from pytask.sandbox.providers.compute.gallery.models import ApplicationVersion, find_version
from pytask.sandbox.providers.compute.vm.failures import InstallFaults
from pytask.sandbox.providers.compute.vm.models import Site, install_seconds
from pytask.sandbox.providers.compute.vm.packages import PackageVersion


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
    )
