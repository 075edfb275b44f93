"""Editing `applicationProfile.galleryApplications`: one application's entry, every other
application and the order left exactly as they were."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

Entry = dict[str, Any]

# Entry fields that decide whether an entry is already what a deploy wants.
_COMPARED = (
    "order",
    "configurationReference",
    "treatFailureAsDeploymentFailure",
    "enableAutomaticUpgrade",
    "tags",
)


def application_of(package_reference_id: str) -> str:
    """The application id a version id belongs to (lower-cased: ARM ids compare so)."""
    head, sep, _ = package_reference_id.rstrip("/").lower().rpartition("/versions/")
    return head if sep else package_reference_id.rstrip("/").lower()


def version_of(package_reference_id: str) -> str:
    return package_reference_id.rstrip("/").rsplit("/", 1)[-1]


def entries(profile: Mapping[str, Any] | None) -> list[Entry]:
    apps = (profile or {}).get("galleryApplications") or []
    return [dict(e) for e in apps if isinstance(e, Mapping)]


def find_entry(profile: Mapping[str, Any] | None, application_id: str) -> Entry | None:
    wanted = application_id.lower()
    for entry in entries(profile):
        if application_of(str(entry.get("packageReferenceId", ""))) == wanted:
            return entry
    return None


def with_entry(
    profile: Mapping[str, Any] | None, application_id: str, entry: Entry | None
) -> dict[str, Any]:
    """The profile with this application's entry replaced in place (or appended when absent),
    or removed when `entry` is None."""
    out = copy.deepcopy(dict(profile or {}))
    wanted = application_id.lower()
    current = entries(profile)
    result: list[Entry] = []
    placed = False
    for existing in current:
        if application_of(str(existing.get("packageReferenceId", ""))) == wanted:
            if entry is not None and not placed:
                result.append(copy.deepcopy(entry))
                placed = True
            continue
        result.append(existing)
    if entry is not None and not placed:
        result.append(copy.deepcopy(entry))
    out["galleryApplications"] = result
    return out


def same_entry(a: Entry | None, b: Entry | None) -> bool:
    """Whether two entries ask for the same thing (ids compare case-insensitively; absent
    booleans are false, as ComputeRP reads them)."""
    if a is None or b is None:
        return a is None and b is None
    if str(a.get("packageReferenceId", "")).lower() != str(b.get("packageReferenceId", "")).lower():
        return False
    return all(_norm(k, a.get(k)) == _norm(k, b.get(k)) for k in _COMPARED)


def _norm(key: str, value: Any) -> Any:
    if key in ("treatFailureAsDeploymentFailure", "enableAutomaticUpgrade"):
        return bool(value)
    return value if value not in ("", None) else None


def new_entry(
    version_id: str,
    *,
    order: int | None,
    configuration_reference: str | None,
    treat_failure: bool,
    automatic_upgrade: bool,
    tags: str | None,
) -> Entry:
    entry: Entry = {"packageReferenceId": version_id}
    if order is not None:
        entry["order"] = order
    if configuration_reference:
        entry["configurationReference"] = configuration_reference
    entry["treatFailureAsDeploymentFailure"] = treat_failure
    entry["enableAutomaticUpgrade"] = automatic_upgrade
    if tags:
        entry["tags"] = tags
    return entry


def describe(entry: Entry | None) -> str:
    return "absent" if entry is None else version_of(str(entry.get("packageReferenceId", "")))


def differs(profiles: Sequence[Mapping[str, Any] | None]) -> bool:
    """Whether the profiles disagree (used to detect partial state)."""
    return len({repr(entries(p)) for p in profiles}) > 1
