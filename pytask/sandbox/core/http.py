"""uvicorn plumbing: a protocol that lets the app reset its own connection (fault injection)
and a server that writes the ready-file once it listens."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from pytask.sandbox.core.app import TRANSPORT_SCOPE_KEY

Asgi = Callable[[Any, Any, Any], Awaitable[None]]


class ResettableH11Protocol(H11Protocol):
    """Exposes the connection's transport to the app in the ASGI scope."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        inner: Asgi = self.app

        async def app(scope: Any, receive: Any, send: Any) -> None:
            scope[TRANSPORT_SCOPE_KEY] = self.transport
            await inner(scope, receive, send)

        self.app = app


class ReadyServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            await asyncio.get_running_loop().run_in_executor(None, self._on_ready)
