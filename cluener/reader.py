"""Read and validate raw CLUENER2020 files.

A raw line is ``{"text": ..., "label": {TYPE: {ENTITY_STRING: [[start, end], ...]}}}`` with an *inclusive* ``end``
(test lines are ``{"id": N, "text": ...}``). Inside this project an :class:`Entity` uses Python slice bounds:
``end`` is exclusive, so ``text[start:end]`` is the mention. Verifying the official
release is :mod:`cluener.release`; locating and downloading it, the data build's ``dataprep.download``.

Every line is checked; a bad line raises :class:`CluenerFormatError` naming file, line number and problem.
Nothing is dropped or repaired.

>>> ex = parse_line('{"text": "叶老桂在浙商银行", "label": {"name": {"叶老桂": [[0, 2]]}}}', "x.json", 1)
>>> ex.entities
(Entity(label='name', start=0, end=3),)
>>> ex.strings_by_label()
{'name': {'叶老桂'}}
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .files import json_object, numbered_lines
from .labels import LABEL_SET, LABELS


class Entity(NamedTuple):
    """A typed mention: ``text[start:end]`` (end exclusive)."""

    label: str
    start: int
    end: int


class CluenerFormatError(ValueError):
    """A raw line that is not valid CLUENER. ``str()`` reads ``file:line: problem``."""

    def __init__(self, path: str | os.PathLike, line: int, problem: str):
        self.path, self.line, self.problem = str(path), line, problem
        super().__init__(f"{self.path}:{line}: {problem}")


class SourceError(RuntimeError):
    """The CLUENER source files are missing or do not match their pinned sha256."""


@dataclass(frozen=True)
class Example:
    """One CLUENER sentence: text, gold entities (sorted), optional test id, and its 1-based source line."""

    text: str
    entities: tuple[Entity, ...] = ()
    id: int | None = None
    line: int = 0
    labelled: bool = True
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def strings_by_label(self) -> dict[str, set[str]]:
        """Per type, the set of entity strings (what the official metric compares)."""
        out: dict[str, set[str]] = {}
        for ent in self.entities:
            out.setdefault(ent.label, set()).add(self.text[ent.start : ent.end])
        return out

    def to_cluener(self) -> dict:
        """Back to the raw CLUENER line (inclusive ends)."""
        row: dict = {}
        if self.id is not None:
            row["id"] = self.id
        row["text"] = self.text
        if self.labelled:
            row["label"] = entities_to_label_dict(self.text, self.entities)
        return row


def entities_to_label_dict(text: str, entities) -> dict:
    """``{TYPE: {STRING: [[start, end_inclusive], ...]}}`` in CLUENER's layout.

    >>> entities_to_label_dict("北京北京", [Entity("address", 0, 2), Entity("address", 2, 4)])
    {'address': {'北京': [[0, 1], [2, 3]]}}
    """
    out: dict[str, dict[str, list[list[int]]]] = {}
    for ent in sorted(entities, key=lambda e: (e.start, e.end, e.label)):
        out.setdefault(ent.label, {}).setdefault(text[ent.start : ent.end], []).append([ent.start, ent.end - 1])
    return out


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_line(raw: str, path: str | os.PathLike, line: int, labelled: bool = True) -> Example:
    """Validate one raw line. ``labelled=False`` is the test split (``id`` + ``text``, no ``label``)."""

    def fail(problem: str) -> CluenerFormatError:
        return CluenerFormatError(path, line, problem)

    row = json_object(raw, fail)
    text = row.get("text")
    if not isinstance(text, str):
        raise fail("'text' is missing or not a string")
    ex_id = row.get("id")
    if ex_id is not None and not _is_int(ex_id):
        raise fail(f"'id' is not an integer: {ex_id!r}")
    if not labelled:
        if "label" in row:
            raise fail("unexpected 'label' in an unlabelled (test) file")
        return Example(text=text, id=ex_id, line=line, labelled=False)
    label = row.get("label")
    if not isinstance(label, dict):
        raise fail("'label' is missing or not an object")
    entities: list[Entity] = []
    for typ, mentions in label.items():
        if typ not in LABEL_SET:
            raise fail(f"unknown label {typ!r} (expected one of {', '.join(LABELS)})")
        if not isinstance(mentions, dict) or not mentions:
            raise fail(f"label {typ!r}: expected a non-empty object of entity string -> spans")
        for string, spans in mentions.items():
            if not string:
                raise fail(f"label {typ!r}: empty entity string")
            if not isinstance(spans, list) or not spans:
                raise fail(f"label {typ!r}, entity {string!r}: expected a non-empty list of [start, end] spans")
            for span in spans:
                if not (isinstance(span, list) and len(span) == 2 and all(_is_int(v) for v in span)):
                    raise fail(f"label {typ!r}, entity {string!r}: span {span!r} is not [start, end] integers")
                start, end = span
                if not 0 <= start <= end < len(text):
                    raise fail(
                        f"label {typ!r}, entity {string!r}: span [{start}, {end}] outside the text "
                        f"(length {len(text)})"
                    )
                if text[start : end + 1] != string:
                    raise fail(
                        f"label {typ!r}: span [{start}, {end}] covers {text[start:end + 1]!r}, "
                        f"not the entity string {string!r}"
                    )
                entities.append(Entity(typ, start, end + 1))
    entities.sort(key=lambda e: (e.start, e.end, e.label))
    return Example(text=text, entities=tuple(entities), id=ex_id, line=line, labelled=True)


def read_cluener(path: str | os.PathLike, labelled: bool = True) -> list[Example]:
    """Read and validate a whole CLUENER file (one JSON object per line)."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: file not found")
    lines = numbered_lines(path, CluenerFormatError)
    return [parse_line(line, path, number, labelled=labelled) for number, line in lines]
