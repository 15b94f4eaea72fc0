"""Publish the files of ``make data`` all-or-nothing: a reader sees the complete old set or the complete new one.

What LLaMA-Factory reads is ``dataset_info.json`` -> ``file_name`` -> ``data/<dataset>.json``; what the eval package
reads is ``data/manifest.json``. Those paths never change, and each is a symlink into one pointer::

    data/cluener_train.json -> current/cluener_train.json      (one per dataset, and manifest.json)
    data/current            -> sets/<set>                       (the pointer)
    data/sets/<set>/        the complete files of one build, manifest.json included

A build writes a fresh ``sets/<set>/`` (invisible until published), then replaces ``data/current`` with one
``os.replace`` of a symlink: the single atomic step. Only then are the other sets removed. A kill at any moment
leaves the old set (and maybe an unused folder, removed by the next build) or the new one, never a mix, and
``data/manifest.json`` always describes the files beside it.

A ``data/`` of the older layout (plain files) is first turned into a set of its own, by hard links, so the switch to
symlinks changes nothing a reader sees. Everything that can be wrong with the paths (a directory where a file goes,
a ``dataset_info.json`` that is not a JSON object) is checked by :func:`preflight` before anything is written.
Names and paths are :mod:`cluener.layout`'s.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from cluener.files import atomic_write_json, fsync_dir, temp_dir_in
from cluener.layout import ALPACA_COLUMNS, CURRENT_SET, DATA_SETS, MANIFEST

LOCK_FILE = ".build.lock"


class PublishError(ValueError):
    """A path that cannot take the data set (names the path and the problem)."""


def stable_paths(data_dir: Path, names: list[str]) -> dict[str, Path]:
    """File name in a set -> the path readers use in ``data_dir`` (every dataset file, and the manifest)."""
    files = [f"{name}.json" for name in names] + [MANIFEST]
    return {file: data_dir / file for file in files}


def read_dataset_info(path: Path) -> dict:
    """The registry as it is (``{}`` when absent); a user's mistake in it is a :class:`PublishError`."""
    if path.is_dir():
        raise PublishError(f"{path}: is a directory; --dataset-info must be a file (LLaMA-Factory's dataset registry)")
    if not path.exists():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise PublishError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise PublishError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})")
    if not isinstance(info, dict):
        raise PublishError(
            f"{path}: expected a JSON object of dataset name -> entry, got {type(info).__name__}; fix or remove it"
        )
    return info


def preflight(data_dir: Path, dataset_info: Path, names: list[str]) -> dict:
    """Check every path a build writes before it writes any; returns the dataset_info.json content."""
    info = read_dataset_info(dataset_info)
    for path in (data_dir, data_dir / DATA_SETS):
        if path.exists() and not path.is_dir():
            raise PublishError(f"{path}: is not a directory")
    for path in [*stable_paths(data_dir, names).values(), data_dir / CURRENT_SET]:
        if path.is_dir() and not path.is_symlink():
            raise PublishError(f"{path}: is a directory; `make data` writes a file there (move it away)")
    return info


def register(dataset_info: Path, info: dict, registered: dict[str, str]) -> None:
    """Add or update the project's entries, keeping any others the user added; no write when nothing changes."""
    updated = dict(info)
    for name, file_name in registered.items():
        updated[name] = {"file_name": file_name, "formatting": "alpaca", "columns": dict(ALPACA_COLUMNS)}
    if updated != info or not dataset_info.exists():
        atomic_write_json(dataset_info, updated)


def _point(link: Path, target: str) -> None:
    """Make ``link`` a symlink to ``target`` with one atomic rename (a no-op when it already is)."""
    if link.is_symlink() and os.readlink(link) == target:
        return
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)


def _new_set_dir(sets: Path, label: str) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return temp_dir_in(sets, prefix=f"{stamp}-{label}-")


def _adopt_plain_files(data_dir: Path, stable: dict[str, Path]) -> None:
    """Older layout (plain files): snapshot what readers see now into a set (hard links), point ``current`` at it,
    then replace each plain file by its symlink. Every step leaves what a reader sees unchanged."""
    if not any(path.is_file() and not path.is_symlink() for path in stable.values()):
        return
    sets = data_dir / DATA_SETS
    sets.mkdir(exist_ok=True)
    snapshot = _new_set_dir(sets, "adopted")
    for file, path in stable.items():
        if path.exists():  # follows a symlink into the current set
            try:
                os.link(path.resolve(), snapshot / file)
            except OSError:
                shutil.copy2(path, snapshot / file)
    fsync_dir(snapshot)
    _point(data_dir / CURRENT_SET, f"{DATA_SETS}/{snapshot.name}")
    for file, path in stable.items():
        if path.is_file() and not path.is_symlink():
            _point(path, f"{CURRENT_SET}/{file}")


def publish(data_dir: Path, files: dict[str, str], manifest: dict, label: str) -> Path:
    """Write ``files`` (name in the set -> text) and the manifest into a fresh set, then switch ``current`` to it.

    ``files`` must hold every name of :func:`stable_paths` but the manifest. Returns the set's folder.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    with _locked(data_dir):
        return _publish(data_dir, files, manifest, label)


@contextmanager
def _locked(data_dir: Path):
    """One build at a time per data folder: a second one waits (it would remove the first one's new set)."""
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _publish(data_dir: Path, files: dict[str, str], manifest: dict, label: str) -> Path:
    stable = stable_paths(data_dir, [file.removesuffix(".json") for file in files])
    sets = data_dir / DATA_SETS
    sets.mkdir(exist_ok=True)
    building = _new_set_dir(sets, f".building-{label}")
    for file, text in [*files.items(), (MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")]:
        with open(building / file, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(building / file, 0o644)
    os.chmod(building, 0o755)
    final = building.with_name(building.name.replace(".building-", "", 1))
    os.rename(building, final)
    fsync_dir(sets)
    _adopt_plain_files(data_dir, stable)
    for file, path in stable.items():
        _point(path, f"{CURRENT_SET}/{file}")  # dangling until the first set is current: nothing half-visible
    _point(data_dir / CURRENT_SET, f"{DATA_SETS}/{final.name}")  # the switch
    fsync_dir(data_dir)
    for old in sets.iterdir():  # the other sets, and what killed builds left
        if old.name == final.name:  # by name in sets/: a path's form (relative, absolute, symlinked) says nothing
            continue
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
    for stale in data_dir.glob(".*.tmp"):  # a link a killed build did not get to rename
        if stale.is_symlink():
            stale.unlink(missing_ok=True)
    return final
