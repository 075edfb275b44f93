"""ARM template expressions: `[concat(parameters('a'), '-', variables('b'))]`.

Parsing only: a string is a literal unless it is bracketed (`[[` escapes a literal `[`). The
parsed form is a small tree (literals, calls, property and index access) evaluated by
`functions.Scope`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


class TemplateError(ValueError):
    """An expression ARM would reject (InvalidTemplate)."""


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Member:
    target: Node
    name: str


@dataclass(frozen=True)
class Index:
    target: Node
    key: Node


Node = Literal | Call | Member | Index

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<punct>[().,\[\]]))"
)


def is_expression(value: Any) -> bool:
    return (
        isinstance(value, str)
        and value.startswith("[")
        and value.endswith("]")
        and not value.startswith("[[")
    )


def unescape(value: str) -> str:
    """A literal string as the template means it (`[[x]` -> `[x]`)."""
    return value[1:] if value.startswith("[[") else value


def parse(text: str) -> Node:
    """Parse the inside of a bracketed expression."""
    tokens = _tokenize(text)
    parser = _Parser(tokens, text)
    node = parser.expression()
    if parser.position != len(tokens):
        raise TemplateError(f"The template language expression '{text}' is not valid.")
    return node


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise TemplateError(
                f"The template language expression '{text}' is not valid: unexpected "
                f"character at position {position}."
            )
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.position = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self, value: str | None = None) -> tuple[str, str]:
        token = self._peek()
        if token is None or (value is not None and token[1] != value):
            raise TemplateError(
                f"The template language expression '{self.text}' is not valid: expected "
                f"'{value or 'a value'}'."
            )
        self.position += 1
        return token

    def expression(self) -> Node:
        node = self._primary()
        while True:
            token = self._peek()
            if token == ("punct", "."):
                self._take(".")
                node = Member(node, self._take()[1])
            elif token == ("punct", "["):
                self._take("[")
                node = Index(node, self.expression())
                self._take("]")
            else:
                return node

    def _primary(self) -> Node:
        kind, value = self._take()
        if kind == "string":
            return Literal(value[1:-1].replace("''", "'"))
        if kind == "number":
            return Literal(int(value))
        if kind == "name":
            self._take("(")
            args: list[Node] = []
            if self._peek() != ("punct", ")"):
                args.append(self.expression())
                while self._peek() == ("punct", ","):
                    self._take(",")
                    args.append(self.expression())
            self._take(")")
            return Call(value.lower(), tuple(args))
        raise TemplateError(
            f"The template language expression '{self.text}' is not valid: unexpected '{value}'."
        )
