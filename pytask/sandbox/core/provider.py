"""The provider interface: what a resource provider declares to plug into the sandbox."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pytask.sandbox.core.reply import Reply
from pytask.sandbox.core.world import EffectHandler, World

if TYPE_CHECKING:
    from pytask.sandbox.core.context import RequestContext

# A handler answers one request. Returning a dict means 200 with that JSON body; None means 200
# with no body. Raise ArmError for errors.
Handler = Callable[["RequestContext"], "Reply | dict[str, Any] | None"]


class Seeder(Protocol):
    """What a provider's seed hook gets: requests go through the same path as a client's."""

    world: World
    subscription_id: str
    default_location: str

    def request(
        self, method: str, path: str, api_version: str, body: Any = None
    ) -> Reply:  # raises ArmError on an error status
        ...

    def finish_operations(self) -> None:
        """Complete every pending operation now (a seeded world starts settled)."""
        ...


SeedHook = Callable[[Seeder, Any], None]


@dataclass(frozen=True)
class Runtime:
    """What a provider's `on_start` hook gets when the server starts (after the world is
    loaded, before the seed is applied and before the ready-file is written)."""

    world: World
    state_dir: Path
    ca_file: Path  # STATE/ca.pem, what clients trust
    cert_file: Path  # the server certificate chain (127.0.0.1, localhost)
    key_file: Path
    # Bearer tokens the sandbox issues: accepted issuers, signing keys (JWKS) and the
    # authorization_uri for WWW-Authenticate challenges.
    token_issuers: tuple[str, ...]
    jwks: dict[str, Any]
    authorization_uri: str


# Returns a stop callable (run at shutdown, in reverse start order) or None.
StartHook = Callable[[Runtime], "Callable[[], None] | None"]


@dataclass(frozen=True)
class Route:
    """One operation: an HTTP method and an ARM path template with `{placeholders}`.

    Matching is case-insensitive on literal segments, as ARM's is. A placeholder matches one
    path segment; `{*rest}` matches the remainder. `resource_type` keys into the provider's
    `api_versions` (None: api-version is not checked, e.g. identity endpoints).
    """

    method: str
    template: str
    handler: Handler
    resource_type: str | None = None
    operation: str = ""  # the REST operation id, e.g. "ResourceGroups_CreateOrUpdate"
    auth: Literal["arm", "none"] = "arm"
    # RBAC action checked against seeded role assignments; default derived from the method:
    # "{namespace}/{resource_type}/read|write|delete|action".
    action: str | None = None


@dataclass(frozen=True)
class Provider:
    """A resource provider (or any other group of endpoints) served by the sandbox."""

    namespace: str  # e.g. "Microsoft.Compute"
    routes: Sequence[Route]
    # resource type (as in Route.resource_type, e.g. "galleries/applications") -> api-versions
    api_versions: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # JSON-serializable initial provider state, kept in world.state[namespace] and persisted.
    initial_state: Callable[[], Any] | None = None
    # The key of this provider's section in the seed YAML and the hook that creates it.
    seed_key: str | None = None
    seed: SeedHook | None = None
    # Named effects that operations schedule (see RequestContext.start_operation).
    effects: Mapping[str, EffectHandler] = field(default_factory=dict)
    # Seed sections are applied in ascending order (resource groups first).
    seed_order: int = 100
    # Started with the server (e.g. a data-plane process such as Azurite).
    on_start: StartHook | None = None
