"""The committed schema copies are the shared reference, byte for byte."""

from __future__ import annotations

import pytest

from tests.helpers.schemas import COMMITTED, SHARED

NAMES = sorted(p.name for p in COMMITTED.glob("*.json"))


def test_both_official_schemas_are_committed() -> None:
    assert NAMES == ["azure-pipelines.service-schema.json", "tasks.schema.json"]


@pytest.mark.parametrize("name", NAMES)
def test_the_committed_copy_is_the_shared_schema(name: str) -> None:
    if not (SHARED / name).is_file():
        pytest.skip("no ../shared/schemas beside this checkout")
    assert (COMMITTED / name).read_bytes() == (SHARED / name).read_bytes()
