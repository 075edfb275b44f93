"""`make bench` is not part of `make test`; this keeps its modules from rotting unnoticed
(a benchmark importing a renamed test helper once broke `make bench` silently)."""

from __future__ import annotations

import importlib

import pytest

from bench.__main__ import modules


def test_every_benchmark_is_found() -> None:
    expected = {"bench_deploy", "bench_gate", "bench_publish_upload"}
    assert expected | {"bench_overhead", "bench_bootstrap"} <= set(modules([]))


@pytest.mark.parametrize("name", modules([]))
def test_benchmark_module_imports_and_has_main(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    assert callable(module.main)
