"""The project's splits and where their gold lives.

``train`` / ``val`` come from the official train file with a seeded split (val keeps source order; ``make data``
draws it); ``dev`` is the official dev set (the reporting set, never trained on); ``test`` is the official
unlabelled test set. ``make data`` records the source folder, seed and val lines in ``data/manifest.json`` so that the eval package
finds the same gold later. Split names and file names are :mod:`cluener.layout`'s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .files import sha256_file
from .layout import CUSTOM_SPLIT, DATA_DIR, LABELLED_SPLITS, MANIFEST, RAW_FILES, check_split
from .reader import Example, read_cluener
from .release import SHA256, official_split, verify_sources


class ManifestError(ValueError):
    """A data/manifest.json that is not what ``make data`` writes (names the file and the problem)."""


def read_manifest(data_dir: str | Path = DATA_DIR) -> dict:
    """``data/manifest.json`` as ``make data`` wrote it: source_dir, seed, val_size, counts, val_lines."""
    path = Path(data_dir) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found; run `make data` first")
    redo = "; run `make data` again to rewrite it"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ManifestError(f"{path}: not valid UTF-8{redo}") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}){redo}") from None
    if not isinstance(manifest, dict):
        raise ManifestError(f"{path}: expected a JSON object, got {type(manifest).__name__}{redo}")
    lines = manifest.get("val_lines")
    if not isinstance(manifest.get("source_dir"), str):
        raise ManifestError(f"{path}: 'source_dir' is missing or not a string{redo}")
    if not isinstance(lines, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in lines):
        raise ManifestError(f"{path}: 'val_lines' is missing or not a list of line numbers{redo}")
    return manifest


def raw_file_of(split: str) -> str:
    """The official file a split's sentences come from (val is part of train.json)."""
    return RAW_FILES[split] if split in RAW_FILES else RAW_FILES["train"]


def load_split(split: str, data_dir: str | Path = DATA_DIR) -> list[Example]:
    """Gold examples of a project split, from the same verified source ``make data`` used."""
    check_split(split)
    manifest = read_manifest(data_dir)
    paths = verify_sources(manifest["source_dir"])
    if split in ("dev", "test"):
        return read_cluener(paths[split], labelled=split in LABELLED_SPLITS)
    examples = read_cluener(paths["train"])
    val_lines = set(manifest["val_lines"])
    return [ex for ex in examples if (ex.line in val_lines) == (split == "val")]


@dataclass
class Gold:
    """The gold sentences a predictions file is scored against, and where they come from."""

    examples: list[Example]
    split: str
    path: str  # the file the sentences come from (named in errors, on this machine)
    description: str  # what they are, for reports: never a path of this machine (see describe_source)


def official_source(split: str) -> str:
    """An official file by what it is: ``CLUENER2020 dev (dev.json, sha256 …)`` (the pinned sha256).

    >>> official_source("dev")[:34]
    'CLUENER2020 dev (dev.json, sha256 '
    """
    name = RAW_FILES[split]
    return f"CLUENER2020 {split} ({name}, sha256 {SHA256[name]})"


def shown_path(path: str | Path) -> str:
    """A path as a report may show it: relative to the working folder (the repository) when inside it, else only
    its file name. A report never names a folder of the machine that made it.

    >>> shown_path("data/manifest.json"), shown_path("/elsewhere/gold16.json")
    ('data/manifest.json', 'gold16.json')
    """
    path = inside_relative(path)
    return path.as_posix() if not path.is_absolute() else path.name


def inside_relative(path: str | Path) -> Path:
    """``path`` relative to the working folder when it is inside it, else as given."""
    path = Path(path)
    if path.is_absolute():
        try:
            return path.resolve().relative_to(Path.cwd().resolve())
        except ValueError:
            pass
    return path


def gold_of_split(split: str, data_dir: str | Path = DATA_DIR) -> Gold:
    """A project split's gold, through ``data/manifest.json``."""
    examples = load_split(split, data_dir)
    manifest = read_manifest(data_dir)
    path = f"{manifest['source_dir']}/{raw_file_of(split)}"
    source = official_source("train" if split in ("train", "val") else split)
    lines = f"the val lines of {shown_path(Path(data_dir) / MANIFEST)} (seed {manifest.get('seed')})"
    where = {"train": f"{source} minus {lines}", "val": f"{source}, {lines}"}.get(split, source)
    return Gold(examples, split, path, f"{where} (--split {split})")


def gold_of_file(path: str | Path, split_name: str | None = None) -> Gold:
    """A CLUENER file: labelled unless its first line has no ``label`` (the test layout).

    Its split is ``split_name`` when given, else the official split whose file it is (sha256), else ``custom``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: gold file not found")
    with path.open("rb") as handle:
        first = handle.readline()
    try:
        labelled = "label" in json.loads(first)
    except (ValueError, TypeError):
        labelled = True  # let the reader report the problem with its line number
    examples = read_cluener(path, labelled=labelled)
    official = official_split(path)
    split = split_name or official or CUSTOM_SPLIT
    described = official_source(official) if official else f"{shown_path(path)} (sha256 {sha256_file(path)})"
    return Gold(examples, split, str(path), described)
