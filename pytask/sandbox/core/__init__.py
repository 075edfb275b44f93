"""The sandbox server core: routing, ARM conventions and the world state providers plug into.

Providers import what they need from here; see docs/sandbox-providers.md.
"""

from pytask.sandbox.core.clock import Clock
from pytask.sandbox.core.context import RequestContext
from pytask.sandbox.core.errors import ArmError
from pytask.sandbox.core.etag import check_preconditions, new_etag
from pytask.sandbox.core.lro import Operation, OperationKind
from pytask.sandbox.core.paging import page
from pytask.sandbox.core.provider import Provider, Route
from pytask.sandbox.core.reply import Reply, reply
from pytask.sandbox.core.world import Effect, World, public

__all__ = [
    "ArmError",
    "Clock",
    "Effect",
    "Operation",
    "OperationKind",
    "Provider",
    "Reply",
    "RequestContext",
    "Route",
    "World",
    "check_preconditions",
    "new_etag",
    "page",
    "public",
    "reply",
]
