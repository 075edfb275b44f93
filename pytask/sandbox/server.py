"""`pytask sandbox serve`: assemble the world, the providers and the HTTPS server; write the
ready-file; shut down gracefully on SIGTERM/SIGINT."""

from __future__ import annotations

import os
import signal
import socket
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from pytask.sandbox.core import issued, operations
from pytask.sandbox.core.app import build_app
from pytask.sandbox.core.clock import Clock
from pytask.sandbox.core.cloud import ARM_AUDIENCES
from pytask.sandbox.core.dispatch import Dispatcher
from pytask.sandbox.core.faults import FaultEngine
from pytask.sandbox.core.http import ReadyServer, ResettableH11Protocol
from pytask.sandbox.core.persistence import JsonLines, read_json, write_json_atomic
from pytask.sandbox.core.provider import Provider, Runtime
from pytask.sandbox.core.registry import load_providers
from pytask.sandbox.core.seed import apply_seed, check_sections, load_seed
from pytask.sandbox.core.tls import TlsFiles, ensure_tls
from pytask.sandbox.core.world import World
from pytask.sandbox.identity import connections
from pytask.sandbox.identity.security import ArmSecurity
from pytask.sandbox.identity.state import identity
from pytask.sandbox.identity.tokens import sts_issuer

WORLD_FILE = "world.json"
OPERATIONS_LOG = "operations.jsonl"


@dataclass(frozen=True)
class ServeOptions:
    port: int
    state_dir: Path
    ready_file: Path
    seed: Path | None = None
    faults: Path | None = None
    time_scale: float = 1.0
    page_size: int = 100


def all_providers() -> list[Provider]:
    return [operations.PROVIDER, *load_providers()]


def load_world(path: Path, providers: Sequence[Provider]) -> tuple[World, bool]:
    """The persisted world, or a fresh one (new tenant and subscription). True if fresh."""
    world = World(tenant_id=str(uuid.uuid4()), subscription_id=str(uuid.uuid4()))
    fresh = not path.exists()
    if not fresh:
        world.load_json(read_json(path))
    for provider in providers:
        if provider.initial_state is not None and provider.namespace not in world.state:
            world.state[provider.namespace] = provider.initial_state()
        for name, handler in provider.effects.items():
            known = world.effect_handlers.setdefault((provider.namespace, name), handler)
            if known is not handler:
                raise ValueError(f"effect {provider.namespace}/{name} registered twice")
    return world, fresh


def bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def set_endpoints(world: World, port: int) -> str:
    base = f"https://127.0.0.1:{port}"
    world.endpoints.update({"base_url": base, "arm_url": f"{base}/", "authority_url": f"{base}/"})
    return base


def runtime(world: World, state_dir: Path, tls: TlsFiles) -> Runtime:
    return Runtime(
        world=world,
        state_dir=state_dir,
        ca_file=tls.ca_pem,
        cert_file=tls.cert_pem,
        key_file=tls.key_pem,
        token_issuers=(sts_issuer(world.tenant_id),),
        jwks={"keys": [identity(world).signing_key.jwk()]},
        authorization_uri=f"{world.endpoints['base_url']}/{world.tenant_id}",
    )


def ready_document(world: World, options: ServeOptions, tls: TlsFiles) -> dict[str, Any]:
    all_conns = connections.all_connections(world)
    return {
        "arm_url": world.endpoints["arm_url"],
        "authority_url": world.endpoints["authority_url"],
        "base_url": world.endpoints["base_url"],
        "tenant_id": world.tenant_id,
        "subscription_id": world.subscription_id,
        "ca_bundle": str(tls.ca_pem.resolve()),
        "blob_url": world.endpoints.get("blob_url"),
        "arm_audience": ARM_AUDIENCES[0],
        "state_dir": str(options.state_dir.resolve()),
        "requests_log": str((options.state_dir / "requests.jsonl").resolve()),
        "faults_log": str((options.state_dir / "faults.jsonl").resolve()),
        "operations_log": str((options.state_dir / OPERATIONS_LOG).resolve()),
        "pid": os.getpid(),
        "time_scale": options.time_scale,
        "connection": all_conns.get("spnKey"),
        "connections": all_conns,
        "principals": connections.principals_table(world),
        "devops": connections.devops_info(world),
        "managed_identity": connections.managed_identity_env(world),
    }


def record_ready_secrets(world: World) -> None:
    """The credentials the ready-file hands to tests (issued.py)."""
    state = identity(world)
    for sp in state.principals:
        issued.record("client-secret", sp.secret)
        issued.record("certificate-private-key", sp.private_key_pem)
    issued.record("job-access-token", state.job_access_token)
    issued.record("identity-header", state.identity_header)


def start_hooks(providers: Sequence[Provider], rt: Runtime) -> list[Callable[[], None]]:
    stops: list[Callable[[], None]] = []
    for provider in providers:
        if provider.on_start is not None:
            stop = provider.on_start(rt)
            if stop is not None:
                stops.append(stop)
    return stops


def _ignore_signal(signum: int, frame: object) -> None:
    return None


def serve(options: ServeOptions) -> int:
    state_dir = options.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    tls = ensure_tls(state_dir)
    issued.open_registry(state_dir)
    providers = all_providers()
    world, fresh = load_world(state_dir / WORLD_FILE, providers)
    sock = bind(options.port)
    set_endpoints(world, sock.getsockname()[1])
    faults = FaultEngine(JsonLines(state_dir / "faults.jsonl"), source=options.faults)
    faults.load()
    dispatcher = Dispatcher(
        world=world,
        providers=providers,
        clock=Clock(options.time_scale),
        security=ArmSecurity(),
        faults=faults,
        request_log=JsonLines(state_dir / "requests.jsonl"),
        state_file=state_dir / WORLD_FILE,
        page_size=options.page_size,
    )
    seed = load_seed(options.seed) if fresh and options.seed is not None else None
    if seed is not None:
        check_sections(seed, providers)
    stops: list[Callable[[], None]] = []
    try:
        stops = start_hooks(providers, runtime(world, state_dir, tls))
        if seed is not None:
            apply_seed(seed, providers, dispatcher)
        # Only now: the seed's operations are cut short (a seeded world starts settled), so
        # their scheduled durations would be false; the log holds what clients started.
        dispatcher.operation_log = JsonLines(state_dir / OPERATIONS_LOG)
        dispatcher.persist(force=True)
        config = uvicorn.Config(
            build_app(dispatcher),
            ssl_certfile=str(tls.cert_pem),
            ssl_keyfile=str(tls.key_pem),
            http=ResettableH11Protocol,
            lifespan="off",
            log_level="warning",
            timeout_graceful_shutdown=1,
        )

        def on_ready() -> None:
            record_ready_secrets(world)
            write_json_atomic(options.ready_file, ready_document(world, options, tls))
            print(f"sandbox: ready at {world.endpoints['base_url']}", file=sys.stderr, flush=True)

        # uvicorn re-raises the signal that stopped it once it has shut down; with a no-op
        # handler in place that re-raise returns, so the stop hooks below still run and the
        # process exits 0 after a graceful stop.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, _ignore_signal)
        ReadyServer(config, on_ready).run(sockets=[sock])
    finally:
        for stop in reversed(stops):
            stop()
        dispatcher.persist(force=True)
        sock.close()
    return 0
