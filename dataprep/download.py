"""Locate and download the official CLUENER2020 release (train/dev/test.json), verified against the pinned sha256
of :mod:`cluener.release`."""

from __future__ import annotations

import argparse
import http.client
import io
import os
import shutil
import sys
import urllib.request
import zipfile
import zlib
from pathlib import Path

from cluener.files import atomic_write_bytes, os_error_text, temp_dir_in
from cluener.layout import DATA_DIR, RAW_DIR, RAW_FILES
from cluener.reader import SourceError
from cluener.release import verify_sources

OFFICIAL_URL = "https://storage.googleapis.com/cluebenchmark/tasks/cluener_public.zip"
ARCHIVE = "cluener_public.zip"  # kept beside the extracted files


def download_official(dest: str | os.PathLike, url: str = OFFICIAL_URL, timeout: float = 60) -> Path:
    """Download the official archive and extract train/dev/test.json into ``dest`` (then verified).

    All or nothing: the body is checked whole (as long as its Content-Length says), the archive read and every file
    verified against its pinned sha256 in a scratch folder, and only then are the files and the archive moved into
    ``dest``. Anything wrong (a download cut short, a body that is not a zip, a damaged member, a full disk) is a
    :class:`SourceError` naming the URL or path, and leaves nothing behind (not even ``dest``, if this made it).
    """
    dest = Path(dest)
    payload = _fetch(url, timeout)
    made = not dest.exists()
    try:
        dest.mkdir(parents=True, exist_ok=True)
        # Extract into a scratch folder and verify there: a bad archive never leaves files that look like a source.
        scratch = temp_dir_in(dest, prefix=".extract.")
    except OSError as exc:
        raise SourceError(os_error_text(exc, dest)) from None
    try:
        _extract(payload, url, scratch)
        verify_sources(scratch)
        atomic_write_bytes(dest / ARCHIVE, payload)
        for name in RAW_FILES.values():
            os.replace(scratch / name, dest / name)
    except OSError as exc:
        raise SourceError(os_error_text(exc, dest)) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if made and not any(dest.iterdir()):
            dest.rmdir()
    return dest


def _fetch(url: str, timeout: float) -> bytes:
    """The whole body at ``url``; a body shorter than its Content-Length is an error, never a truncated archive."""
    advice = "Download it by hand and run `make data CLUENER_DIR=<folder>`."
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (https, or a mirror given)
            expected = response.headers.get("Content-Length")
            payload = response.read()
    except http.client.IncompleteRead as exc:
        raise SourceError(
            f"could not download {url}: cut short after {len(exc.partial)} bytes"
            + (f" of {len(exc.partial) + exc.expected}" if exc.expected else "")
            + f". {advice}"
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        raise SourceError(f"could not download {url}: {exc}. {advice}") from None
    if expected is not None and expected.isdigit() and len(payload) != int(expected):
        raise SourceError(f"could not download {url}: got {len(payload)} bytes of {expected}. {advice}")
    return payload


def _extract(payload: bytes, url: str, scratch: Path) -> None:
    """Write the three official files of the zip ``payload`` into ``scratch``; a damaged archive is a SourceError."""
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            members = {Path(info.filename).name: info for info in archive.infolist() if not info.is_dir()}
            for name in RAW_FILES.values():
                if name not in members:
                    raise SourceError(f"{url}: archive has no {name}")
                (scratch / name).write_bytes(archive.read(members[name]))
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        # BadZipFile: not a zip, or cut (no central directory) or a CRC mismatch; zlib.error / EOFError: a damaged
        # member; NotImplementedError: a compression method this Python lacks; RuntimeError: an encrypted member.
        raise SourceError(
            f"{url}: not a valid CLUENER zip archive ({len(payload)} bytes: {exc}). Download it by hand and run "
            "`make data CLUENER_DIR=<folder>`."
        ) from None


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


def main(argv: list[str] | None = None) -> int:
    """``python -m dataprep.download [--url URL] [--dest data/raw]``: fetch and verify the release (e.g. from a
    mirror, when the official URL cannot be reached); ``make data`` does the same from the official URL."""
    parser = argparse.ArgumentParser(prog="python -m dataprep.download", description=main.__doc__.split(";")[0])
    parser.add_argument("--url", default=OFFICIAL_URL, help=f"the archive (default: {OFFICIAL_URL})")
    parser.add_argument("--dest", default=str(Path(DATA_DIR) / RAW_DIR), help="folder of train/dev/test.json")
    args = parser.parse_args(argv)
    try:
        dest = download_official(args.dest, args.url)
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {', '.join(str(dest / name) for name in RAW_FILES.values())} (sha256 verified)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
