"""The one list of providers the sandbox serves, in dispatch order.

Each module exposes `PROVIDER: Provider`. Modules that do not exist yet are skipped with a
warning, so that providers can land one at a time.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

from pytask.sandbox.core.provider import Provider

PROVIDER_MODULES: tuple[str, ...] = (
    "pytask.sandbox.identity.provider",
    "pytask.sandbox.providers.resources.urls",
    "pytask.sandbox.providers.deployments.urls",
    "pytask.sandbox.providers.storage.urls",
    "pytask.sandbox.providers.network.urls",
    "pytask.sandbox.providers.compute.gallery.urls",
    "pytask.sandbox.providers.compute.vm.urls",
    "pytask.sandbox.providers.compute.vm.scaleset_urls",
    "pytask.sandbox.providers.devtestlab.urls",
    "pytask.sandbox.providers.monitor.urls",
    "pytask.sandbox.providers.devops.urls",
)


def load_providers(modules: tuple[str, ...] = PROVIDER_MODULES) -> list[Provider]:
    providers: list[Provider] = []
    for name in modules:
        if _missing(name):
            print(f"sandbox: provider module {name} not present; skipped", file=sys.stderr)
            continue
        provider = importlib.import_module(name).PROVIDER
        if not isinstance(provider, Provider):
            raise TypeError(f"{name}.PROVIDER is not a Provider")
        providers.append(provider)
    return providers


def _missing(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except ModuleNotFoundError:
        return True
