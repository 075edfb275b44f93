"""Access to the identity state inside the world (parsed once, cached by world version)."""

from __future__ import annotations

from pytask.sandbox.core.world import World
from pytask.sandbox.identity.principals import IdentityState

NAMESPACE = "Sandbox.Identity"

_cache: dict[int, tuple[int, IdentityState]] = {}


def identity(world: World) -> IdentityState:
    key = id(world)
    cached = _cache.get(key)
    if cached is not None and cached[0] == world.version:
        return cached[1]
    state = IdentityState.from_json(world.state[NAMESPACE])
    _cache[key] = (world.version, state)
    return state


def save_identity(world: World, state: IdentityState) -> None:
    with world.lock:
        world.state[NAMESPACE] = state.to_json()
        world.touch()
