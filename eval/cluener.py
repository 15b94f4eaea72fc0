"""Read and validate raw CLUENER2020 files; locate, download and verify the official release.

A raw line is ``{"text": ..., "label": {TYPE: {ENTITY_STRING: [[start, end], ...]}}}`` with an *inclusive* ``end``
(test lines are ``{"id": N, "text": ...}``). Inside this package an :class:`Entity` uses Python slice bounds:
``end`` is exclusive, so ``text[start:end]`` is the mention.

Every line is checked; a bad line raises :class:`CluenerFormatError` naming file, line number and problem.
Nothing is dropped or repaired.

>>> ex = parse_line('{"text": "叶老桂在浙商银行", "label": {"name": {"叶老桂": [[0, 2]]}}}', "x.json", 1)
>>> ex.entities
(Entity(label='name', start=0, end=3),)
>>> ex.strings_by_label()
{'name': {'叶老桂'}}
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .files import atomic_write_bytes, numbered_lines, sha256_file
from .labels import LABEL_SET, LABELS

OFFICIAL_URL = "https://storage.googleapis.com/cluebenchmark/tasks/cluener_public.zip"

# sha256 of the files inside the official archive (from ../shared/cluener2020/README.md).
SHA256: dict[str, str] = {
    "train.json": "60299d202779dc84f3c3bd81f4dc08f5323d0dbf762cb50cd62dd51aa9a871f8",
    "dev.json": "90036b59832e007c45d11eafe5ed80549f58a18a29aaa7fe8b1229622c69ec38",
    "test.json": "5ca36f6fbe29230a6e3244110fcd9487fc2f5a672f5bfeba82a30f0ece72aa69",
}
SPLIT_FILES = {"train": "train.json", "dev": "dev.json", "test": "test.json"}


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

    try:
        row = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise fail(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(row, dict):
        raise fail(f"expected a JSON object, got {type(row).__name__}")
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


def verify_sources(directory: str | os.PathLike) -> dict[str, Path]:
    """Check train/dev/test in ``directory`` against the pinned sha256; return split -> path."""
    directory = Path(directory)
    paths = {split: directory / name for split, name in SPLIT_FILES.items()}
    missing = [path.name for path in paths.values() if not path.is_file()]
    if missing:
        raise SourceError(
            f"{directory}: missing CLUENER file(s) {', '.join(missing)} "
            f"(expected {', '.join(SPLIT_FILES.values())})"
        )
    for path in paths.values():
        digest = sha256_file(path)
        if digest != SHA256[path.name]:
            raise SourceError(f"{path}: sha256 {digest} does not match the official {SHA256[path.name]}")
    return paths


def download_official(dest: str | os.PathLike, url: str = OFFICIAL_URL, timeout: float = 60) -> Path:
    """Download the official archive and extract train/dev/test.json into ``dest`` (then verified)."""
    dest = Path(dest)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (fixed https URL)
            payload = response.read()
    except OSError as exc:
        raise SourceError(
            f"could not download {url}: {exc}. Download it by hand and run `make data CLUENER_DIR=<folder>`."
        ) from None
    atomic_write_bytes(dest / "cluener_public.zip", payload)
    # Extract into a scratch folder and verify there: a bad archive never leaves files that look like a source.
    scratch = Path(tempfile.mkdtemp(prefix=".extract.", dir=dest))
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            members = {Path(info.filename).name: info for info in archive.infolist() if not info.is_dir()}
            for name in SPLIT_FILES.values():
                if name not in members:
                    raise SourceError(f"{url}: archive has no {name}")
                (scratch / name).write_bytes(archive.read(members[name]))
        verify_sources(scratch)
        for name in SPLIT_FILES.values():
            os.replace(scratch / name, dest / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return dest


def resolve_source(cluener_dir: str | os.PathLike | None, raw_dir: str | os.PathLike = "data/raw") -> dict[str, Path]:
    """The verified source files: ``cluener_dir`` when given, else ``raw_dir`` (downloading it when empty)."""
    if cluener_dir:
        return verify_sources(cluener_dir)
    raw_dir = Path(raw_dir)
    if not all((raw_dir / name).is_file() for name in SPLIT_FILES.values()):
        download_official(raw_dir)
    return verify_sources(raw_dir)
