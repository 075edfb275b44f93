"""The tag that lets a re-run name what each target ran before an interrupted deploy.

`rollbackState` is output before the first write, from each target's entry as read. A run
killed half-way (agent lost, job cancelled) leaves some targets on the new version; a re-run
would read them there and record the new version as their previous state, so a rollback from
the re-run's output would keep the half-applied deploy. Hence every write that changes a
target's entry for the application also sets, in the same If-Match request, the tag
`vmapp.previous.<gallery>.<application>` = `{"run": ..., "by": ..., "was": ...}`: which
pipeline run wrote, the version it wrote (null: it removed the application) and the entry it
replaced (null: absent). A later attempt of the same pipeline run that finds a target on the
version it asks for, written by that run, takes `was` as the target's previous entry. Other
runs ignore the tag (their previous state is what the target runs); a rollback removes it.

ARM's tag limits: 50 tags per resource, names up to 512 characters without `<>%&\\?/`, values
up to 256 characters. A `configurationReference` with a query (a SAS) is never written to a tag
(tags are readable by anyone who can read the resource); it and the entry's `tags` are left out
when the value would not fit, and the trail says so (`partial`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytask.agent.context import Variables
from pytask.tasks.deploy.profile import Entry, version_of

PREFIX = "vmapp.previous."
MAX_TAGS = 50
MAX_VALUE = 256
# Entry fields a tag can do without (the version and flags always fit).
_OPTIONAL = ("configurationReference", "tags")

Tags = dict[str, str]


@dataclass(frozen=True)
class Trail:
    run: str  # the pipeline run that wrote (see run_identity)
    by: str | None  # the version it wrote; None: it removed the application
    was: Entry | None  # the entry it replaced; None: the application was absent
    partial: bool = False  # `was` lacks its configurationReference or tags


def run_identity(variables: Variables) -> str:
    """`<Build.BuildId>@<hash of collection and project>`: the same for every attempt of a
    pipeline run (stage and job re-runs), different for every other run."""
    scope = "/".join(
        variables.get(name) or "" for name in ("System.CollectionId", "System.TeamProjectId")
    )
    digest = hashlib.sha256(scope.encode()).hexdigest()[:8]
    return f"{variables.get('Build.BuildId') or ''}@{digest}"


def tag_name(application_id: str) -> str:
    """`vmapp.previous.<gallery>.<application>` (gallery and application names use letters,
    digits, '.', '-' and '_', all allowed in tag names)."""
    parts = application_id.rstrip("/").split("/")
    lowered = [p.lower() for p in parts]
    gallery = parts[lowered.index("galleries") + 1] if "galleries" in lowered else ""
    return f"{PREFIX}{gallery}.{parts[-1]}"


# --- value ---------------------------------------------------------------------------------------
def encode(trail: Trail) -> str | None:
    """The tag value, or None when even the slimmest form exceeds 256 characters."""
    was, partial = _stored(trail.was)
    value = _dump(trail, was, partial or trail.partial)
    if len(value) <= MAX_VALUE:
        return value
    slim = None if was is None else {k: v for k, v in was.items() if k not in _OPTIONAL}
    value = _dump(trail, slim, True)
    return value if len(value) <= MAX_VALUE else None


def _stored(entry: Entry | None) -> tuple[dict[str, Any] | None, bool]:
    """The entry as a tag holds it: its version instead of the whole id, no SAS."""
    if entry is None:
        return None, False
    stored: dict[str, Any] = {"version": version_of(str(entry.get("packageReferenceId", "")))}
    stored.update({k: v for k, v in entry.items() if k != "packageReferenceId"})
    reference = str(stored.get("configurationReference") or "")
    if "?" in reference:
        del stored["configurationReference"]
        return stored, True
    return stored, False


def _dump(trail: Trail, was: dict[str, Any] | None, partial: bool) -> str:
    data: dict[str, Any] = {"run": trail.run, "by": trail.by, "was": was}
    if partial:
        data["partial"] = True
    return json.dumps(data, separators=(",", ":"))


def decode(value: str, application_id: str) -> Trail | None:
    """The trail in a tag value; None for anything else (a tag edited by hand is ignored)."""
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, Mapping) or not isinstance(data.get("run"), str):
        return None
    by, was = data.get("by"), data.get("was")
    if by is not None and not isinstance(by, str):
        return None
    if was is None:
        return Trail(data["run"], by, None, bool(data.get("partial")))
    if not isinstance(was, Mapping) or not isinstance(was.get("version"), str):
        return None
    entry: Entry = {"packageReferenceId": f"{application_id.rstrip('/')}/versions/{was['version']}"}
    entry.update({k: v for k, v in was.items() if k != "version"})
    return Trail(data["run"], by, entry, bool(data.get("partial")))


# --- on a target ---------------------------------------------------------------------------------
def _key(tags: Mapping[str, str], name: str) -> str | None:
    """The key of tag `name` as stored (ARM compares tag names case-insensitively)."""
    return next((k for k in tags if k.lower() == name.lower()), None)


def read(tags: Mapping[str, str] | None, application_id: str) -> Trail | None:
    tags = tags or {}
    key = _key(tags, tag_name(application_id))
    return None if key is None else decode(str(tags[key]), application_id)


def left_by(
    tags: Mapping[str, str] | None,
    application_id: str,
    run: str,
    wanted: str | None,
    current: Entry | None,
) -> Trail | None:
    """The trail this pipeline run left on the target, when the target still runs what that
    write put there and that is what this attempt asks for (`wanted`: a version, or None to
    remove); None otherwise."""
    trail = read(tags, application_id)
    if trail is None or trail.run != run:
        return None
    now = None if current is None else version_of(str(current.get("packageReferenceId", "")))
    if not (_same(trail.by, wanted) and _same(now, wanted)):
        return None
    return trail


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").lower() == (b or "").lower() and (a is None) == (b is None)


def with_trail(tags: Mapping[str, str] | None, application_id: str, trail: Trail) -> Tags | None:
    """The tags with this application's trail set (others' tags kept); None when ARM's limits
    leave no room for it."""
    value = encode(trail)
    out = without_trail(tags, application_id)
    if value is None or len(out) >= MAX_TAGS:
        return None
    out[tag_name(application_id)] = value
    return out


def without_trail(tags: Mapping[str, str] | None, application_id: str) -> Tags:
    name = tag_name(application_id).lower()
    return {k: str(v) for k, v in (tags or {}).items() if k.lower() != name}
