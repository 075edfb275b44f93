"""PublishVmApp@1: publish a package as an Azure Compute Gallery VM application version.

Order of work, so that bad input or a conflicting version never leaves a write behind:
inputs checked -> package hashed -> gallery, application and version read -> decision (skip,
fail, create, replace) -> application created if missing -> package uploaded (unless the same
bytes are there) -> read-only SAS -> version created -> replication awaited -> outputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.polling import LROPoller

from pytask.agent import TaskContext, TaskError, run_task
from pytask.cloud import CloudConfigError, CloudSession
from pytask.tasks.publish import gallery as gallery_ops
from pytask.tasks.publish import package as packaging
from pytask.tasks.publish import replication as waiting
from pytask.tasks.publish.blobs import BlobRef, BlobStore, blob_path
from pytask.tasks.publish.report import Outcome, publish_outputs, write_summary
from pytask.tasks.publish.rules import CHECKS
from pytask.tasks.publish.spec import PublishSpec, read_spec
from pytask.tasks.refusals import permission_refusals

TASK_NAME = "PublishVmApp"
TAG_CONFIG_SHA256 = "vmapp.configSha256"
# The SAS outlives the whole publication (replication included) by this much.
SAS_MARGIN = timedelta(hours=1)


@dataclass
class Source:
    """The package as it will be (or already is) in Blob Storage."""

    sha256: str
    store: BlobStore
    ref: BlobRef
    local: packaging.Package | None  # None: the package is an existing blob (packageUrl)
    config: packaging.Package | None = None
    config_ref: BlobRef | None = None


ROLES = (
    "Contributor on the gallery, Storage Blob Data Contributor on the container, and Storage "
    "Blob Delegator and Reader on the storage account"
)


def body(ctx: TaskContext) -> None:
    spec = read_spec(ctx)
    with azure_errors(), permission_refusals(ROLES):
        _run(ctx, spec)


@contextmanager
def azure_errors() -> Iterator[None]:
    """Azure's own refusals as task failures with Azure's words, not as crashes."""
    try:
        yield
    except CloudConfigError as exc:
        raise TaskError(str(exc)) from None
    except ClientAuthenticationError as exc:
        raise TaskError(
            f"The service connection could not authenticate: {exc.message}. Check the "
            "connection's credentials and that it is allowed in this tenant."
        ) from None
    except HttpResponseError as exc:  # a 403 was named by permission_refusals already
        code = exc.error.code if exc.error is not None else ""
        raise TaskError(
            f"Azure answered {exc.status_code} {code or exc.reason}: {exc.message}"
        ) from None


def _run(ctx: TaskContext, spec: PublishSpec) -> None:
    deadline = waiting.Deadline(spec.timeout_minutes)
    session = CloudSession.from_connection(
        ctx.inputs.connection("azureSubscription"), job_folder=ctx.job_temp_dir
    )
    gallery = gallery_ops.Gallery(session.compute(), spec)
    with ctx.group("Package"):
        source = _source(ctx, session, spec)
    with ctx.group("Gallery"):
        location = gallery.location()
        os_type = _check_application(ctx, gallery, spec)
        existing = gallery.version()
        action = _decide(ctx, spec, existing, source)
    if existing is not None and action == "unchanged":
        upload, version_id = "skipped (version unchanged)", str(existing.get("id", ""))
        replication = _replication(ctx, gallery, spec, None, deadline, existing)
    else:
        upload, version_id, replication = _publish(
            ctx, gallery, spec, source, location, action, deadline
        )
    outcome = Outcome(
        version_id=version_id,
        blob_url=source.ref.url,
        sha256=source.sha256,
        replication=replication,
        action=action,
        upload=upload,
        portal_link=session.portal().resource(version_id) if version_id else None,
        application=spec.application,
        version=spec.version,
        os_type=os_type,
    )
    publish_outputs(ctx, outcome)
    write_summary(ctx, outcome)


def main() -> int:
    return run_task(TASK_NAME, body, checks=CHECKS)


# --- the package -----------------------------------------------------------------------------
def _source(ctx: TaskContext, session: CloudSession, spec: PublishSpec) -> Source:
    if spec.package_url is not None:
        store = BlobStore(session, spec.package_url.account_url)
        ref = store.ref(spec.package_url.container, spec.package_url.blob)
        recorded = store.recorded_sha256(ref)
        if recorded is None:
            raise TaskError(
                f"packageUrl: no blob at {ref.url}, or the connection may not read it (it needs "
                "the Storage Blob Data Reader role on the account or container)."
            )
        sha256 = recorded or store.hash_remote(ref)
        ctx.log(f"Package: existing blob {ref.url}")
        ctx.log(f"SHA-256: {sha256}")
        return _with_config(ctx, spec, Source(sha256, store, ref, None))
    assert spec.package is not None and spec.storage is not None
    local = packaging.prepare(spec.package, ctx.temp_dir / "publishvmapp", _archive_name(spec))
    what = f"folder {spec.package} zipped" if local.zipped_from else f"file {spec.package}"
    ctx.log(f"Package: {what} ({local.size} bytes)")
    ctx.log(f"SHA-256: {local.sha256}")
    store = BlobStore.for_account(session, spec.storage.resource_group, spec.storage.account)
    name = blob_path(spec.application, spec.version, local.sha256, spec.package_file_name)
    ref = store.ref(spec.storage.container, name)
    return _with_config(ctx, spec, Source(local.sha256, store, ref, local))


def _archive_name(spec: PublishSpec) -> str:
    return f"{spec.application}-{spec.version}.zip"


def _with_config(ctx: TaskContext, spec: PublishSpec, source: Source) -> Source:
    if spec.config_file is None:
        return source
    config = packaging.prepare(spec.config_file, ctx.temp_dir, spec.config_file.name)
    name = spec.config_file_name or spec.config_file.name
    path = f"{spec.application}/{spec.version}/config-{config.sha256}/{name}"
    source.config = config
    source.config_ref = source.store.ref(source.ref.container, path)
    ctx.log(f"Default configuration: {spec.config_file} (SHA-256 {config.sha256})")
    return source


# --- decisions before any write --------------------------------------------------------------
def _check_application(ctx: TaskContext, gallery: gallery_ops.Gallery, spec: PublishSpec) -> str:
    app = gallery.application()
    wanted = spec.app_details.os_type
    if app is None:
        if not spec.create_application:
            raise TaskError(
                f"The application '{spec.application}' does not exist in gallery "
                f"'{spec.gallery}' and createApplication is false. Create it, or set "
                "createApplication: true."
            )
        if not wanted:
            raise TaskError(
                f"The application '{spec.application}' does not exist yet: set osType (Linux "
                "or Windows) so the task can create it."
            )
        ctx.log(f"Application {spec.application}: missing, will be created ({wanted})")
        return wanted
    actual = str(app.get("properties", {}).get("supportedOSType", ""))
    if wanted and actual.lower() != wanted.lower():
        raise TaskError(
            f"The application '{spec.application}' exists for {actual}, but osType is "
            f"{wanted}. An application's OS type cannot change: correct osType, or publish "
            "under another applicationName."
        )
    ctx.log(f"Application {spec.application}: exists ({actual})")
    return actual


def _identical(existing: dict[str, Any], source: Source) -> bool:
    tags = existing.get("tags") or {}
    same_package = gallery_ops.recorded_sha256(existing) == source.sha256
    config_hash = source.config.sha256 if source.config else ""
    return same_package and tags.get(TAG_CONFIG_SHA256, "") == config_hash


def _decide(
    ctx: TaskContext, spec: PublishSpec, existing: dict[str, Any] | None, source: Source
) -> str:
    """created | replaced | unchanged, or a TaskError saying which input to change."""
    if existing is None:
        ctx.log(f"Version {spec.version}: new")
        return "created"
    state = existing.get("properties", {}).get("provisioningState", "")
    identical = _identical(existing, source) and state != "Failed"
    changed_commands = gallery_ops.command_changes(existing, spec)
    if spec.if_version_exists == "fail":
        raise TaskError(
            f"Version {spec.version} of '{spec.application}' already exists and "
            "ifVersionExists is 'fail'. Publish a new version, or set ifVersionExists to "
            "skipIfIdentical or overwrite."
        )
    if spec.if_version_exists == "overwrite":
        if identical and not changed_commands:
            ctx.log(f"Version {spec.version}: exists with the same package; nothing to replace")
            return "unchanged"
        ctx.log(f"Version {spec.version}: exists; it will be replaced (ifVersionExists: overwrite)")
        return "replaced"
    if not identical:
        recorded = gallery_ops.recorded_sha256(existing) or "unknown"
        raise TaskError(
            f"Version {spec.version} of '{spec.application}' already exists with a different "
            f"package (recorded SHA-256 {recorded}, this package {source.sha256}"
            f"{', state ' + state if state else ''}). Change the 'version' input to publish a "
            "new version, or set ifVersionExists: overwrite to replace this one."
        )
    if changed_commands:
        raise TaskError(
            f"Version {spec.version} already exists with the same package but different "
            f"{', '.join(changed_commands)} command(s). Install/remove/update commands cannot "
            "change on an existing version: publish a new 'version', or set ifVersionExists: "
            "overwrite to replace it."
        )
    ctx.log(f"Version {spec.version}: exists with the same package; nothing to write")
    return "unchanged"


# --- writes ------------------------------------------------------------------------------------
def _publish(
    ctx: TaskContext,
    gallery: gallery_ops.Gallery,
    spec: PublishSpec,
    source: Source,
    location: str,
    action: str,
    deadline: waiting.Deadline,
) -> tuple[str, str, waiting.Replication]:
    """Write what is missing; returns (upload result, version id, replication). The storage
    permissions are exercised first (delegation key, then upload) and the gallery written
    last, so a refused role leaves no half-created application behind."""
    lifetime = timedelta(seconds=deadline.remaining()) + SAS_MARGIN
    sign = source.store.signer(lifetime, ctx.add_secret)
    with ctx.group("Upload"):
        upload = _upload(ctx, source)
    media_link = f"{source.ref.url}?{sign(source.ref)}"
    config_link = None
    if source.config_ref is not None:
        config_link = f"{source.config_ref.url}?{sign(source.config_ref)}"
    if gallery.application() is None:
        with ctx.group("Creating the application"):
            gallery.create_application(location)
            ctx.log(f"Created application {spec.application}")
    if action == "replaced":
        with ctx.group("Removing the existing version"):
            gallery.delete_version()
            ctx.log(f"Deleted version {spec.version}")
    tags = _tags(ctx, spec, source)
    body = gallery_ops.version_body(spec, location, media_link, config_link, tags)
    with ctx.group(f"Version {spec.version}"):
        try:
            poller = gallery.begin_version(body)
        except HttpResponseError as exc:
            concurrent = exc.status_code == 409 and action == "created"
            twin = _same_version_meanwhile(gallery, spec, source) if concurrent else None
            if twin is None:
                raise
            # Another run (a second pipeline, a retried stage) is creating this very version
            # from the same package: wait for it rather than fail on its operation.
            ctx.log(
                f"Version {spec.version}: another run is creating it from the same package; "
                "waiting for that instead of writing"
            )
            replication = _replication(ctx, gallery, spec, None, deadline, twin)
            return "reused", str(twin.get("id", "")), replication
        ctx.log(f"Version {spec.version}: create accepted; replicating")
        replication = _replication(ctx, gallery, spec, poller, deadline, None)
    version = gallery.version(expand=False) or {}
    return upload, str(version.get("id", "")), replication


def _same_version_meanwhile(
    gallery: gallery_ops.Gallery, spec: PublishSpec, source: Source
) -> dict[str, Any] | None:
    """The version as another run is writing it, if it is what this run would write."""
    existing = gallery.version()
    if existing is None or not _identical(existing, source):
        return None
    return None if gallery_ops.command_changes(existing, spec) else existing


def _upload(ctx: TaskContext, source: Source) -> str:
    """Upload the package (unless it was given as a blob) and the configuration."""
    result = "given (packageUrl)"
    if source.local is not None:
        result = _upload_one(ctx, source, source.ref, source.local)
    if source.config is not None and source.config_ref is not None:
        _upload_one(ctx, source, source.config_ref, source.config)
    return result


def _upload_one(ctx: TaskContext, source: Source, ref: BlobRef, local: packaging.Package) -> str:
    if source.store.recorded_sha256(ref) == local.sha256:
        ctx.log(f"{ref.url}: already uploaded with the same SHA-256; not uploading again")
        return "reused"
    source.store.ensure_container(ref.container)
    last = [-1]

    def progress(done: int, total: int) -> None:
        percent = int(100 * done / total) if total else 100
        if percent // 10 != last[0] // 10:
            last[0] = percent
            ctx.progress(percent, "Uploading")

    ctx.log(f"Uploading to {ref.url}")
    source.store.upload(ref, local.path, local.sha256, progress, local.md5)
    ctx.log(f"Uploaded {local.size} bytes")
    return "uploaded"


def _tags(ctx: TaskContext, spec: PublishSpec, source: Source) -> dict[str, str]:
    tags = dict(spec.tags)
    tags[gallery_ops.TAG_SHA256] = source.sha256
    if source.config is not None:
        tags[TAG_CONFIG_SHA256] = source.config.sha256
    run = _run_url(ctx)
    if run and len(run) <= 256:
        tags[gallery_ops.TAG_RUN] = run
    commit = ctx.variables.get("Build.SourceVersion")
    if commit:
        tags[gallery_ops.TAG_COMMIT] = commit[:256]
    return tags


def _run_url(ctx: TaskContext) -> str | None:
    collection = ctx.variables.get("System.CollectionUri")
    project = ctx.variables.get("System.TeamProject")
    build = ctx.variables.get("Build.BuildId")
    if not (collection and project and build):
        return None
    return f"{collection.rstrip('/')}/{project}/_build/results?buildId={build}"


def _replication(
    ctx: TaskContext,
    gallery: gallery_ops.Gallery,
    spec: PublishSpec,
    poller: LROPoller[Any] | None,
    deadline: waiting.Deadline,
    known: dict[str, Any] | None,
) -> waiting.Replication:
    """Wait for replication (unless told not to); `known` is a version just read."""

    def read() -> dict[str, Any]:
        return gallery.version() or {}

    if not spec.wait_for_replication:
        ctx.log("Not waiting for replication (waitForReplication: false)")
        return waiting.read_replication(known if known is not None else read())
    return waiting.wait(ctx, read, poller, deadline, spec.version)
