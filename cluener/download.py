"""Locate, download and verify the official CLUENER2020 release (train/dev/test.json, pinned sha256)."""

from __future__ import annotations

import io
import os
import shutil
import urllib.request
import zipfile
from pathlib import Path

from .files import atomic_write_bytes, sha256_file, temp_dir_in
from .layout import DATA_DIR, RAW_DIR, RAW_FILES
from .reader import SourceError

OFFICIAL_URL = "https://storage.googleapis.com/cluebenchmark/tasks/cluener_public.zip"

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
    scratch = temp_dir_in(dest, prefix=".extract.")
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            members = {Path(info.filename).name: info for info in archive.infolist() if not info.is_dir()}
            for name in RAW_FILES.values():
                if name not in members:
                    raise SourceError(f"{url}: archive has no {name}")
                (scratch / name).write_bytes(archive.read(members[name]))
        verify_sources(scratch)
        for name in RAW_FILES.values():
            os.replace(scratch / name, dest / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return dest


def resolve_source(
    cluener_dir: str | os.PathLike | None, raw_dir: str | os.PathLike = Path(DATA_DIR) / RAW_DIR
) -> dict[str, Path]:
    """The verified source files: ``cluener_dir`` when given, else ``raw_dir`` (downloading it when empty)."""
    if cluener_dir:
        return verify_sources(cluener_dir)
    raw_dir = Path(raw_dir)
    if not all((raw_dir / name).is_file() for name in RAW_FILES.values()):
        download_official(raw_dir)
    return verify_sources(raw_dir)
