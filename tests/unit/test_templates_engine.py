"""Tests of the template expander in pytask/demo/expand.py (the offline template checks and
the demo both rely on it)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from pytask.demo.expand import Expander, TemplateError, load_yaml12


def _expand_text(tmp_path: Path, text: str, given: Mapping[str, Any]) -> Any:
    file = tmp_path / "t.yml"
    file.write_text(text, encoding="utf-8")
    return Expander().expand_template(file, given)


def test_yaml12_on_is_a_key_and_yes_is_a_string() -> None:
    assert load_yaml12("on: yes\nx: true\n") == {"on": "yes", "x": True}


def test_if_else_each_and_interpolation(tmp_path: Path) -> None:
    text = (
        "parameters:\n  - name: envs\n    type: object\n"
        "steps:\n"
        "  - ${{ each e in parameters.envs }}:\n"
        "    - ${{ if eq(e.kind, 'a') }}:\n"
        "      - script: A ${{ e.name }}\n"
        "    - ${{ else }}:\n"
        "      - script: ${{ format('B {0}', coalesce(e.missing, e.name)) }}\n"
    )
    got = _expand_text(tmp_path, text, {"envs": [{"name": "x", "kind": "a"}, {"name": "y"}]})
    assert got == {"steps": [{"script": "A x"}, {"script": "B y"}]}


def test_missing_required_and_unexpected_parameters_fail(tmp_path: Path) -> None:
    text = "parameters:\n  - name: a\n    type: string\nsteps: []\n"
    with pytest.raises(TemplateError, match="required"):
        _expand_text(tmp_path, text, {})
    with pytest.raises(TemplateError, match="unexpected"):
        _expand_text(tmp_path, text, {"a": "1", "b": "2"})


def test_whole_value_expression_keeps_objects(tmp_path: Path) -> None:
    text = (
        "parameters:\n  - name: o\n    type: object\n"
        "steps:\n  - script: x\n    env: ${{ parameters.o }}\n"
    )
    got = _expand_text(tmp_path, text, {"o": {"A": "1"}})
    assert got["steps"][0]["env"] == {"A": "1"}
