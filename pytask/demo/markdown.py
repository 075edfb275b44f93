"""Just enough Markdown for the tasks' summaries (headings, paragraphs, bold, code, http(s)
links, pipe tables) to show them in the report. Everything is escaped first."""

from __future__ import annotations

import html
import re

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s\"]+)\)")


def _inline(text: str) -> str:
    text = html.escape(text)
    text = _CODE.sub(r"<code>\1</code>", text)
    text = _LINK.sub(r'<a href="\2">\1</a>', text)
    return _BOLD.sub(r"<strong>\1</strong>", text)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _table(lines: list[str]) -> str:
    head, rows = _cells(lines[0]), [_cells(line) for line in lines[2:]]
    out = ["<table><thead><tr>", *(f"<th>{_inline(c)}</th>" for c in head), "</tr></thead><tbody>"]
    for row in rows:
        out += ["<tr>", *(f"<td>{_inline(c)}</td>" for c in row), "</tr>"]
    return "".join([*out, "</tbody></table>"])


def to_html(text: str) -> str:
    blocks: list[str] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("|") and index + 1 < len(lines) and set(lines[index + 1]) <= set("|-: "):
            end = index
            while end < len(lines) and lines[end].startswith("|"):
                end += 1
            blocks.append(_table(lines[index:end]))
            index = end
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if heading:
            level = min(len(heading.group(1)) + 2, 6)  # under the report's own headings
            blocks.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif line.strip():
            blocks.append(f"<p>{_inline(line)}</p>")
        index += 1
    return "\n".join(blocks)
