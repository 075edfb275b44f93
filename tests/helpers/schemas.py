"""The official schemas the tests check against: ../shared/schemas beside the repository is the
reference; tests/schemas holds committed copies, so a lone clone (no ../shared) checks the same
(tests/unit/test_schema_copies.py keeps the copies equal to the reference)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "schemas"
COMMITTED = ROOT / "tests" / "schemas"


def official_schema(name: str) -> Path:
    shared = SHARED / name
    return shared if shared.is_file() else COMMITTED / name
