"""`pytask sandbox serve` refuses bad input up front, with a message and exit code 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import _pytask_command


def _serve(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *_pytask_command(),
            "sandbox",
            "serve",
            "--port",
            "0",
            "--state",
            str(tmp_path / "state"),
            "--ready-file",
            str(tmp_path / "ready.json"),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "text", "option", "message"),
    [
        ("faults.yml", "rules:\n  - {inject: explode}\n", "--faults", "inject must be one of"),
        ("seed.yml", "resourceGroupz: []\n", "--seed", "not handled by any provider"),
        ("seed.yml", "resourceGroups:\n  - {name: 'bad name!'}\n", "--seed", "InvalidResource"),
    ],
)
def test_bad_input_is_refused(
    tmp_path: Path, name: str, text: str, option: str, message: str
) -> None:
    (tmp_path / name).write_text(text)
    result = _serve(tmp_path, option, str(tmp_path / name))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert not (tmp_path / "ready.json").exists()
