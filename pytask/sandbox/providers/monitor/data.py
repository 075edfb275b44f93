"""A workspace's data as of now: the generated tables, cut at the ingestion delay (rows become
visible only `ingestionDelaySeconds` (scaled) after their TimeGenerated), for a timespan."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from pytask.sandbox.core import World
from pytask.sandbox.core.clock import Clock

from . import inventory, tables, workspaces
from .telemetry import WorkspaceModel

_CACHE_SIZE = 4
# (workspace, world version, first sample, last sample, resource) -> DuckDB connection. Every
# query of one gate interval asks for the same timespan: they share one build.
_cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()


@dataclass(frozen=True)
class Snapshot:
    model: WorkspaceModel
    machines: list[inventory.Machine]
    window: tables.Window  # what the tables hold (visible rows within the timespan)


def snapshot(
    world: World, workspace_id: str, clock: Clock, span: tuple[float, float] | None
) -> Snapshot:
    model = workspaces.model_of(world, workspace_id)
    machines = inventory.machines(world, model)
    visible_end = clock.now() - clock.scaled(model.ingestion_delay)
    first = min((m.start for m in machines), default=visible_end)
    start, end = first, visible_end
    if span is not None:
        start, end = max(start, span[0]), min(end, span[1])
    return Snapshot(model, machines, tables.Window(start, end))


def connection(world: World, workspace_id: str, snap: Snapshot, resource: str | None) -> Any:
    ss = snap.model.sample_seconds
    window = snap.window
    lo = math.ceil(window.start / ss) if math.isfinite(window.start) else 0
    hi = math.floor(window.end / ss) if math.isfinite(window.end) else 0
    key = (workspace_id.lower(), world.version, lo, hi, (resource or "").lower())
    cached = _cache.get(key)
    if cached is not None:
        _cache.move_to_end(key)
        return cached
    con = tables.build(snap.machines, snap.model, window)
    if resource:
        tables.restrict_to_resource(con, resource)
    _cache[key] = con
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)[1].close()
    return con
