"""Map entity strings back to character spans.

String-only outputs carry no positions, so every prediction (and every gold target in the round trip) is aligned
the same way: longest strings first, every occurrence, never overlapping a span already taken.

>>> align("北京大学在北京", {"organization": ["北京大学"], "address": ["北京"]})
([Entity(label='organization', start=0, end=4), Entity(label='address', start=5, end=7)], [])
>>> align("张三", {"name": ["李四"]})
([], [('name', '李四')])

A string that occurs in the text but only inside spans already taken gets no span; :func:`align_strings` reports
it (with all its occurrences) instead of dropping it silently:

>>> a = align_strings("北京大学", {"organization": ["北京大学"], "address": ["北京"]})
>>> a.entities, a.overlapped
([Entity(label='organization', start=0, end=4)], [Entity(label='address', start=0, end=2)])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from cluener.reader import Entity


@dataclass(frozen=True)
class Alignment:
    """``entities``: non-overlapping spans, sorted (what the span metric scores). ``missing``: ``(label, string)``
    pairs that do not occur in the text, in the input order (hallucinations). ``overlapped``: every occurrence of a
    string that occurs in the text but never got a free span (sorted; these overlap ``entities``)."""

    entities: list[Entity]
    missing: list[tuple[str, str]]
    overlapped: list[Entity]


def _occurrences(text: str, string: str) -> list[int]:
    out, pos = [], text.find(string)
    while pos >= 0:
        out.append(pos)
        pos = text.find(string, pos + 1)
    return out


def align_strings(text: str, strings_by_label: Mapping[str, Sequence[str]]) -> Alignment:
    pairs = [(label, s) for label, strings in strings_by_label.items() for s in strings if s]
    # Longest first; ties keep the model's order (sorted() is stable).
    order = sorted(range(len(pairs)), key=lambda i: -len(pairs[i][1]))
    taken = bytearray(len(text))
    entities: list[Entity] = []
    missing: list[int] = []
    overlapped: list[Entity] = []
    for i in order:
        label, string = pairs[i]
        pos = text.find(string)
        if pos < 0:
            missing.append(i)
            continue
        placed = False
        while pos >= 0:
            end = pos + len(string)
            if not any(taken[pos:end]):
                taken[pos:end] = b"\x01" * len(string)
                entities.append(Entity(label, pos, end))
                placed = True
                pos = text.find(string, end)
            else:
                pos = text.find(string, pos + 1)
        if not placed:
            overlapped.extend(Entity(label, p, p + len(string)) for p in _occurrences(text, string))

    def key(e: Entity) -> tuple[int, int, str]:
        return e.start, e.end, e.label

    return Alignment(sorted(entities, key=key), [pairs[i] for i in sorted(missing)], sorted(overlapped, key=key))


def align(text: str, strings_by_label: Mapping[str, Sequence[str]]) -> tuple[list[Entity], list[tuple[str, str]]]:
    """Return (entities sorted by position, [(label, string) not found in the text])."""
    result = align_strings(text, strings_by_label)
    return result.entities, result.missing
