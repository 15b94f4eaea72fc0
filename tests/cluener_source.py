"""Where the tests read CLUENER2020 from, so that a fresh clone passes `make test` (conftest's ``cluener_dir``).

In order, the first folder that holds train.json, dev.json and test.json:

1. ``$CLUENER_DIR`` (when set, it must hold the files: a wrong path is an error, not a fall-through);
2. ``../shared/cluener2020`` beside the repository (what CI reads);
3. the copy that ``make data`` keeps (``data/raw/``);
4. ``.cache/cluener2020/``: the official archive, downloaded once and sha256-checked by the project's own
   download code (``cluener.reader.download_official``).

Offline with none of them, one line says what to do.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from cluener.layout import DATA_DIR, RAW_DIR, RAW_FILES

ENV = "CLUENER_DIR"
FILES = tuple(RAW_FILES.values())  # train.json, dev.json, test.json: named once, in cluener/layout.py


class NoCluenerCopy(Exception):
    """No CLUENER copy was found and none could be downloaded; the message is one line saying what to do."""


def candidates(root: Path, environ: Mapping[str, str]) -> list[tuple[str, Path]]:
    """The folders looked at, in order, each with the name a message gives it."""
    found = []
    if environ.get(ENV):
        found.append((f"${ENV}", Path(environ[ENV]).expanduser().absolute()))  # tests run commands in other folders
    found.append(("../shared/cluener2020", root.parent / "shared" / "cluener2020"))
    found.append(("make data's copy", root / DATA_DIR / RAW_DIR))
    found.append(("the download cache", cache_dir(root)))
    return found


def cache_dir(root: Path) -> Path:
    return root / ".cache" / "cluener2020"


def complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in FILES)


def find_cluener(root: Path, environ: Mapping[str, str] | None = None, url: str | None = None) -> Path:
    """The first complete CLUENER folder (module docstring), downloading into the cache when there is none."""
    from dataprep.download import OFFICIAL_URL, download_official
    from cluener.reader import SourceError

    environ = os.environ if environ is None else environ
    looked = candidates(root, environ)
    if environ.get(ENV):
        label, folder = looked[0]
        if not complete(folder):
            raise NoCluenerCopy(f"{ENV}={folder}: no {', '.join(FILES)} there; point {ENV} at a CLUENER2020 folder")
        return folder
    for _label, folder in looked:
        if complete(folder):
            return folder
    cache = cache_dir(root)
    cache.mkdir(parents=True, exist_ok=True)
    try:
        return download_official(cache, url=url or OFFICIAL_URL)
    except SourceError as exc:
        raise NoCluenerCopy(
            f"no CLUENER2020 copy ({', '.join(label for label, _ in looked)}) and the download failed "
            f"({str(exc).split('. ')[0]}): set {ENV}=<folder with {'/'.join(FILES)}> or run `make data` online"
        ) from None
