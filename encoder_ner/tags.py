"""Character tags: BIO (strict IOB2), from entities and back, exactly.

Every character gets one tag: ``B-<type>`` opens an entity, ``I-<type>`` continues it, ``O`` is outside. BIO is
chosen over CLUENER's BIOS because seqeval's strict IOB2 mode (what the BERT-family span tables are computed with)
reads BIO; decoding here follows the same strict rule, so the spans written to the predictions file are the spans
seqeval would score:

- an entity is a ``B-X`` followed by any run of ``I-X``;
- an ``I-X`` that does not continue an entity of type ``X`` (after ``O``, after another type, at the start) opens
  nothing and is ignored.

>>> from cluener.reader import Entity
>>> tags, dropped = tags_from_entities(8, [Entity("name", 0, 3), Entity("company", 4, 8)])
>>> tags
['B-name', 'I-name', 'I-name', 'O', 'B-company', 'I-company', 'I-company', 'I-company']
>>> entities_from_tags(tags)
[Entity(label='name', start=0, end=3), Entity(label='company', start=4, end=8)]
>>> entities_from_tags(["I-name", "B-game", "I-name", "O", "B-book", "I-book"])
[Entity(label='game', start=1, end=2), Entity(label='book', start=4, end=6)]

Nested or crossing gold spans cannot be written in one tag per character. CLUENER has one such sentence: official
train line 1507, a ``book`` title (characters 15-35) that contains two ``company`` names. :func:`tags_from_entities`
keeps the longest span of an overlapping group (earliest first on ties) and *returns* the spans it could not write,
so callers report them instead of losing them silently (``python -m encoder_ner.train`` prints them; the tests pin
that this line is the only one):

>>> tags, dropped = tags_from_entities(6, [Entity("book", 0, 6), Entity("company", 1, 3)])
>>> entities_from_tags(tags), dropped
([Entity(label='book', start=0, end=6)], [Entity(label='company', start=1, end=3)])
"""

from __future__ import annotations

from typing import Iterable, Sequence

from cluener.labels import LABELS
from cluener.reader import Entity

OUTSIDE = "O"
TAGS: tuple[str, ...] = (OUTSIDE, *(f"{prefix}-{label}" for label in LABELS for prefix in "BI"))
TAG_TO_ID: dict[str, int] = {tag: i for i, tag in enumerate(TAGS)}
NUM_TAGS = len(TAGS)


def tags_from_entities(length: int, entities: Iterable[Entity]) -> tuple[list[str], list[Entity]]:
    """BIO tags for a sentence of ``length`` characters, and the entities that overlap a kept one (not written)."""
    tags = [OUTSIDE] * length
    taken = [False] * length
    dropped: list[Entity] = []
    for ent in sorted(entities, key=lambda e: (-(e.end - e.start), e.start, e.label)):
        if not 0 <= ent.start < ent.end <= length:
            raise ValueError(f"entity {ent} outside a sentence of {length} characters")
        if any(taken[ent.start : ent.end]):
            dropped.append(ent)
            continue
        tags[ent.start] = f"B-{ent.label}"
        for i in range(ent.start + 1, ent.end):
            tags[i] = f"I-{ent.label}"
        for i in range(ent.start, ent.end):
            taken[i] = True
    return tags, sorted(dropped, key=lambda e: (e.start, e.end, e.label))


def entities_from_tags(tags: Sequence[str]) -> list[Entity]:
    """Spans of a BIO tag sequence under strict IOB2 (see the module docstring), in order."""
    out: list[Entity] = []
    label, start = None, 0
    for i, tag in enumerate(tags):
        prefix, _, kind = tag.partition("-")
        if prefix == "I" and kind == label:
            continue
        if label is not None:
            out.append(Entity(label, start, i))
            label = None
        if prefix == "B":
            label, start = kind, i
        elif tag != OUTSIDE and prefix != "I":
            raise ValueError(f"not a BIO tag: {tag!r}")
    if label is not None:
        out.append(Entity(label, start, len(tags)))
    return out


def ids_to_tags(ids: Iterable[int]) -> list[str]:
    return [TAGS[i] for i in ids]


def allowed_transition(prev: str | None, tag: str) -> bool:
    """Whether BIO allows ``tag`` after ``prev`` (``None``: the first character)."""
    if not tag.startswith("I-"):
        return True
    return prev is not None and prev != OUTSIDE and prev[2:] == tag[2:]
