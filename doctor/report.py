"""One row of `make doctor`'s table, and the table.

>>> print(render([Check("GPU", FAIL, "none", "torch sees no CUDA device"), Check("Python", OK, "3.11.9")]))
check   status  value   note
GPU     FAIL    none    torch sees no CUDA device
Python  ok      3.11.9
"""

from __future__ import annotations

from dataclasses import dataclass

OK, WARN, FAIL, INFO = "ok", "warn", "FAIL", "-"


@dataclass(frozen=True)
class Check:
    """``name``: what was checked; ``status``: OK, WARN (may not run well), FAIL (cannot run), INFO (a fact);
    ``value``: what was found; ``note``: why it fails and what to do (one line)."""

    name: str
    status: str
    value: str = ""
    note: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def line(self) -> str:
        """The one line a pre-flight check prints for a failure or a warning."""
        prefix = "error" if self.failed else "warning"
        return f"{prefix}: {self.name}: {self.note or self.value}"


def render(checks: list[Check]) -> str:
    """The checks as an aligned plain-text table (no colours: it goes to logs and issues as it is)."""
    rows = [("check", "status", "value", "note")] + [(c.name, c.status, c.value, c.note) for c in checks]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + ("  " + row[3] if row[3] else "")
             for row in rows]  # fmt: skip
    return "\n".join(line.rstrip() for line in lines)
