"""The ComputeRP calls DeployVmApp makes, as plain ARM requests through the cloud layer.

Raw JSON keeps a model round trip lossless: a PUT sends back exactly what GET returned,
with one application entry changed. Writes carry `If-Match`; a 412 (someone changed the
resource since we read it) re-reads and re-applies the change on the fresh state, so a
concurrent change is never overwritten.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import HttpResponseError

from pytask.agent import TaskError
from pytask.cloud.arm import ArmClient

COMPUTE_API = "2025-04-01"
GALLERY_API = "2025-03-03"
MAX_CONFLICT_RETRIES = 5

Profile = dict[str, Any]
# Turns the current application profile into the wanted one (None: nothing to change).
Mutation = Callable[[Profile], "Profile | None"]
# The resource's tags to send with a profile change (None: leave them as they are).
Retag = Callable[[dict[str, str]], "dict[str, str] | None"]


@dataclass
class Write:
    """A write ComputeRP accepted, and the profile it was computed from.

    The operation it starts is not awaited: the instance views (and, for scale sets, the
    provisioning state) are what the rollout watches, at its own pace.
    """

    before: Profile
    after: Profile
    conflicts: int


def is_scale_set(resource_id: str) -> bool:
    return "/virtualmachinescalesets/" in resource_id.lower()


def is_vm(resource_id: str) -> bool:
    lowered = resource_id.lower()
    return "/providers/microsoft.compute/virtualmachines/" in lowered and not is_scale_set(lowered)


def profile_of(model: Mapping[str, Any]) -> Profile:
    props = model.get("properties") or {}
    if "virtualMachineProfile" in props:
        return dict((props["virtualMachineProfile"] or {}).get("applicationProfile") or {})
    return dict(props.get("applicationProfile") or {})


class Compute:
    def __init__(self, arm: ArmClient) -> None:
        self.arm = arm

    # --- reads -------------------------------------------------------------------------
    def get(self, resource_id: str, api: str = COMPUTE_API, **query: str) -> dict[str, Any] | None:
        """The resource, or None when ARM says it does not exist."""
        path = resource_id + (
            ("?" + "&".join(f"{k}={v}" for k, v in query.items())) if query else ""
        )
        try:
            found = self.arm.request("GET", path, api)
        except HttpResponseError as exc:
            if exc.status_code == 404:
                return None
            raise
        return dict(found) if isinstance(found, Mapping) else None

    def pages(self, path: str, api: str = COMPUTE_API) -> Iterator[dict[str, Any]]:
        """Every item of an ARM list, following nextLink."""
        url: str | None = path
        while url:
            page = self.arm.request("GET", url, api) or {}
            yield from (dict(v) for v in page.get("value") or [])
            next_link = page.get("nextLink")
            url = _relative(next_link) if next_link else None

    def instance_view(self, vm_id: str) -> dict[str, Any]:
        return dict(self.arm.request("GET", f"{vm_id}/instanceView", COMPUTE_API) or {})

    def instances(self, scale_set_id: str) -> list[dict[str, Any]]:
        """Scale-set instances with their instance views (one paged list, not one call each)."""
        return list(self.pages(f"{scale_set_id}/virtualMachines?$expand=instanceView"))

    def rolling_latest(self, scale_set_id: str) -> dict[str, Any] | None:
        return self.get(f"{scale_set_id}/rollingUpgrades/latest")

    # --- writes ------------------------------------------------------------------------
    def update_profile(
        self,
        resource_id: str,
        mutate: Mutation,
        known: dict[str, Any] | None = None,
        retag: Retag | None = None,
    ) -> Write | None:
        """Apply `mutate` to the target's application profile with If-Match; on 412 read
        again and retry. None when the profile is already as wanted (nothing sent).

        `known`: the model as read earlier (saves a read; its etag still guards the write).
        `retag`: the tags to set in the same request, from the tags as read (the whole set is
        sent: an update's `tags` replaces them all, and If-Match keeps others' changes)."""
        for attempt in range(MAX_CONFLICT_RETRIES + 1):
            model = known if attempt == 0 and known is not None else self.get(resource_id)
            if model is None:
                raise TaskError(f"{resource_id} no longer exists.")
            before = profile_of(model)
            after = mutate(copy.deepcopy(before))
            if after is None:
                return None
            etag = str(model.get("etag", ""))
            tags = dict(model.get("tags") or {})
            new_tags = retag(dict(tags)) if retag is not None else None
            try:
                self._send(resource_id, model, after, etag, None if new_tags == tags else new_tags)
            except HttpResponseError as exc:
                if exc.status_code == 412 and attempt < MAX_CONFLICT_RETRIES:
                    continue
                raise
            return Write(before, after, attempt)
        raise AssertionError("unreachable")

    def _send(
        self,
        resource_id: str,
        model: dict[str, Any],
        profile: Profile,
        etag: str,
        tags: dict[str, str] | None,
    ) -> None:
        headers = {"If-Match": etag} if etag else {}
        if is_scale_set(resource_id):
            # The scale-set update (PATCH) model of older SDKs has no applicationProfile:
            # send back the whole model as read, with the new profile, guarded by If-Match.
            body = copy.deepcopy(model)
            body.pop("etag", None)
            body["properties"]["virtualMachineProfile"]["applicationProfile"] = profile
            if tags is not None:
                body["tags"] = tags
            self.arm.request("PUT", resource_id, COMPUTE_API, body=body, headers=headers)
            return
        patch: dict[str, Any] = {"properties": {"applicationProfile": profile}}
        if tags is not None:
            patch["tags"] = tags
        # Idempotent: the same whole profile; a repeat after an applied first attempt meets
        # 412 (new etag) and the caller re-reads, finding its change in place.
        self.arm.request(
            "PATCH", resource_id, COMPUTE_API, body=patch, headers=headers, idempotent=True
        )

    def manual_upgrade(self, scale_set_id: str, instance_ids: list[str]) -> None:
        """Start upgrading these instances to the latest model (watched via instance views)."""
        body = {"instanceIds": instance_ids}
        # Idempotent: upgrading an instance already on the latest model changes nothing.
        upgrade = f"{scale_set_id}/manualupgrade"
        self.arm.request("POST", upgrade, COMPUTE_API, body=body, idempotent=True)


def _relative(link: str) -> str:
    """A nextLink as a path the ARM client can send (it adds the api-version itself)."""
    parts = urlsplit(link)
    query = "&".join(q for q in parts.query.split("&") if not q.lower().startswith("api-version="))
    return parts.path + (f"?{query}" if query else "")
