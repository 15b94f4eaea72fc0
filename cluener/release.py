"""The official CLUENER2020 release: the pinned sha256 of its files, which split a file is, a verified folder of it.

Reading the release is vocabulary every package shares (the gold of a split, the source a report names); fetching it
is the data build's (:mod:`dataprep.download`).
"""

from __future__ import annotations

import os
from pathlib import Path

from .files import sha256_file
from .layout import RAW_FILES
from .reader import SourceError

# sha256 of the files inside the official archive (from ../shared/cluener2020/README.md).
SHA256: dict[str, str] = {
    "train.json": "60299d202779dc84f3c3bd81f4dc08f5323d0dbf762cb50cd62dd51aa9a871f8",
    "dev.json": "90036b59832e007c45d11eafe5ed80549f58a18a29aaa7fe8b1229622c69ec38",
    "test.json": "5ca36f6fbe29230a6e3244110fcd9487fc2f5a672f5bfeba82a30f0ece72aa69",
}


def official_split(path: str | os.PathLike) -> str | None:
    """The official split whose file ``path`` is, byte for byte (by sha256); None for any other file."""
    digest = sha256_file(path)
    return next((split for split, name in RAW_FILES.items() if SHA256[name] == digest), None)


def verify_sources(directory: str | os.PathLike) -> dict[str, Path]:
    """Check train/dev/test in ``directory`` against the pinned sha256; return split -> path."""
    directory = Path(directory)
    paths = {split: directory / name for split, name in RAW_FILES.items()}
    missing = [path.name for path in paths.values() if not path.is_file()]
    if missing:
        raise SourceError(
            f"{directory}: missing CLUENER file(s) {', '.join(missing)} (expected {', '.join(RAW_FILES.values())})"
        )
    for path in paths.values():
        digest = sha256_file(path)
        if digest != SHA256[path.name]:
            raise SourceError(f"{path}: sha256 {digest} does not match the official {SHA256[path.name]}")
    return paths
