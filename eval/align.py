"""Map entity strings back to character spans.

String-only outputs carry no positions, so every prediction (and every gold target in the round trip) is aligned
the same way: longest strings first, every occurrence, never overlapping a span already taken.

>>> align("北京大学在北京", {"organization": ["北京大学"], "address": ["北京"]})
([Entity(label='organization', start=0, end=4), Entity(label='address', start=5, end=7)], [])
>>> align("张三", {"name": ["李四"]})
([], [('name', '李四')])
"""

from __future__ import annotations

from typing import Mapping, Sequence

from .cluener import Entity


def align(text: str, strings_by_label: Mapping[str, Sequence[str]]) -> tuple[list[Entity], list[tuple[str, str]]]:
    """Return (entities sorted by position, [(label, string) not found in the text])."""
    pairs = [(label, s) for label, strings in strings_by_label.items() for s in strings if s]
    # Longest first; ties keep the model's order (sorted() is stable).
    order = sorted(range(len(pairs)), key=lambda i: -len(pairs[i][1]))
    taken = bytearray(len(text))
    entities: list[Entity] = []
    missing: list[tuple[str, str]] = []
    for i in order:
        label, string = pairs[i]
        pos = text.find(string)
        if pos < 0:
            missing.append((label, string))
            continue
        while pos >= 0:
            end = pos + len(string)
            if not any(taken[pos:end]):
                taken[pos:end] = b"\x01" * len(string)
                entities.append(Entity(label, pos, end))
                pos = text.find(string, end)
            else:
                pos = text.find(string, pos + 1)
    entities.sort(key=lambda e: (e.start, e.end, e.label))
    missing.sort(key=lambda p: pairs.index(p))
    return entities, missing
