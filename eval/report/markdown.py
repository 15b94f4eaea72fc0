"""Markdown text: escaping, inline code, number cells, and the one table writer every report uses.

>>> table(("class", "f1"), [("name", fmt(0.5, 2))])
'| class | f1 |\\n|---|---|\\n| name | 0.50 |'
>>> md("a|b*c"), code("x`y")
('a\\\\|b\\\\*c', '``x`y``')
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md(text: Any) -> str:
    """Escape text for a Markdown table cell or list item (one line)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\r", " ").replace("\n", " ")


def code(text: str) -> str:
    """Inline code for arbitrary text (no escapes are processed inside code spans, so none are added)."""
    text = str(text).replace("\r", " ").replace("\n", " ")
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fmt(value: float | None, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub Markdown table; cells are already formatted (``None`` is an empty cell)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join("" if c is None else str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
