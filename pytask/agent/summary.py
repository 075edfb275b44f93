"""The task's summary: a markdown page the agent attaches to the run (`task.uploadsummary`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


class Summary:
    """A small markdown builder. Cells and text are escaped so values cannot break tables."""

    def __init__(self) -> None:
        self._blocks: list[str] = []

    def __bool__(self) -> bool:
        return bool(self._blocks)

    def heading(self, text: str, level: int = 2) -> Summary:
        self._blocks.append("#" * max(1, min(6, level)) + " " + _inline(text))
        return self

    def paragraph(self, text: str) -> Summary:
        self._blocks.append(text.strip())
        return self

    def bullets(self, items: Iterable[str]) -> Summary:
        lines = [f"- {_inline(item)}" for item in items]
        if lines:
            self._blocks.append("\n".join(lines))
        return self

    def key_values(self, pairs: Iterable[tuple[str, str]]) -> Summary:
        return self.table(("Name", "Value"), [(k, v) for k, v in pairs])

    def table(self, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Summary:
        lines = [
            _row(header),
            "| " + " | ".join("---" for _ in header) + " |",
            *(_row([str(cell) for cell in row]) for row in rows),
        ]
        self._blocks.append("\n".join(lines))
        return self

    def code(self, text: str, language: str = "") -> Summary:
        fence = "````" if "```" in text else "```"
        self._blocks.append(f"{fence}{language}\n{text.rstrip()}\n{fence}")
        return self

    def markdown(self) -> str:
        return "\n\n".join(self._blocks) + ("\n" if self._blocks else "")


def _inline(text: str) -> str:
    return " ".join(text.split())


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(_inline(c).replace("|", "\\|") for c in cells) + " |"
