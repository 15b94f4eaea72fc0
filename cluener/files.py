"""Small file helpers: atomic writes (temp file + rename; a whole folder at once), sha256, text safe for UTF-8, and
temp folders in the caller's own path form on every Python version (:func:`temp_dir_in`)."""

from __future__ import annotations

import ctypes
import errno
import glob
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator


def temp_dir_in(parent: str | os.PathLike, prefix: str = "", suffix: str = "") -> Path:
    """A fresh folder in ``parent``, as ``parent / <name>``: the same form as ``parent`` (relative stays relative).

    ``tempfile.mkdtemp(dir=parent)`` returns ``parent``'s form up to Python 3.11 and an absolute path from 3.12 on;
    a caller that compared its result with ``parent``'s entries removed its own folder on 3.12 (issue 15).
    """
    return Path(parent) / Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=parent)).name


def os_error_text(exc: OSError, writing: str | os.PathLike | None = None) -> str:
    """``path: problem`` of an OSError, naming ``writing`` when the error names no path (a failed write)."""
    where = exc.filename if exc.filename is not None else writing
    if exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    return f"{where}: {exc.strerror or exc}" if where is not None else str(exc.strerror or exc)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temp file in the same folder, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None:  # a failed write (a full disk) names no file
            exc.filename = str(path)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> Path:
    return atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=indent) + "\n")


def atomic_write_jsonl(path: str | os.PathLike, rows: Iterable[Any]) -> Path:
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return atomic_write_text(path, text)


@contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Write a whole folder all-or-nothing: fill the temp folder this yields; when the block ends without an error
    it takes ``path``'s place in one atomic step and the old content is removed (on an error it is dropped).

    The step is Linux's ``renameat2(RENAME_EXCHANGE)``; where that is missing, two renames (``path`` is then
    absent for a moment, never mixed). ``path`` may be a symlink to a folder: the folder it points to is replaced
    and the link stays. Temp folders are ``.<name>.<pid>.<random>.tmp`` beside it: one that a killed writer left
    (its pid is no longer running) is removed first; one of a writer still running is left alone.
    """
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    prefix = f".{path.name}.{os.getpid()}."
    tmp = temp_dir_in(path.parent, prefix=prefix, suffix=".tmp")
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        fsync_dir(tmp)
        tmp = _take_place(tmp, path, prefix)
        fsync_dir(path.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the old content after an exchange, or a failed attempt


_LEGACY_TEMP_AGE = 24 * 3600  # a temp folder without a pid (an older version's): removed once this old (seconds)


def remove_stale_temps(path: Path) -> None:
    """Remove the temp folders of ``path`` (see :func:`atomic_folder`) whose writer is no longer running."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(?:(\d+)\.)?[a-z0-9_]+\.tmp")
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        match = pattern.fullmatch(stale.name)
        if match is None:  # another name's temp folder (``.a.b.*.tmp`` is not run ``a``'s)
            continue
        if match[1] is not None:
            if pid_alive(int(match[1])):
                continue
        else:
            try:
                if time.time() - stale.lstat().st_mtime < _LEGACY_TEMP_AGE:
                    continue
            except FileNotFoundError:
                continue
        shutil.rmtree(stale, ignore_errors=True)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id is running (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _take_place(tmp: Path, path: Path, prefix: str) -> Path:
    """Move the finished folder ``tmp`` to ``path``; return the folder left to remove (the old content, if any).

    Another writer of the same ``path`` may create, swap or move it between any two steps (a report and a score of
    one run at once), so nothing is checked first: each step is tried, and a step that lost such a race is retried.
    """
    while True:
        try:
            os.rename(tmp, path)  # ``path`` absent (or an empty folder): in place
            return tmp
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        swapped = _exchange(tmp, path)
        if swapped:
            return tmp  # ``tmp`` now holds the old content
        if swapped is None:  # no renameat2: move the old folder aside, then rename (``path`` absent for a moment)
            aside = temp_dir_in(path.parent, prefix=prefix, suffix=".tmp")
            try:
                os.rename(path, aside / path.name)
            except FileNotFoundError:  # another writer moved it first
                pass
            try:
                os.rename(tmp, path)
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                shutil.rmtree(aside, ignore_errors=True)
                continue
            shutil.rmtree(tmp, ignore_errors=True)
            return aside
        # False: ``path`` was gone at the exchange (another writer moved it aside): rename again


def _exchange(a: Path, b: Path) -> bool | None:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE): True when swapped, False when ``b`` does not
    exist, None where the system cannot swap."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err == errno.ENOENT:
        return False
    if err in (errno.ENOSYS, errno.EINVAL, errno.EPERM, errno.ENOTSUP):
        return None
    raise OSError(err, os.strerror(err), os.fspath(b))


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (a rename, a new file) durable; a no-op where folders cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def utf8_safe(text: str) -> str:
    """``text`` with each unpaired surrogate (a JSON ``\\ud800`` escape) replaced by U+FFFD: writable as UTF-8.

    >>> utf8_safe("ok\\ud800!") == "ok\\ufffd!", utf8_safe("张三")
    (True, '张三')
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def numbered_lines(path: str | os.PathLike, error: Callable[[Path, int, str], Exception]) -> list[tuple[int, str]]:
    """``(line number, text)`` of a UTF-8 file with one record per line (the final newline is optional).

    Undecodable bytes and empty lines are refused with ``error(path, line, problem)``: nothing is skipped.
    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(path, raw[: exc.start].count(b"\n") + 1, "not valid UTF-8") from None
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise error(path, number, "empty line")
    return list(enumerate(lines, start=1))


def json_object(text: str | bytes, fail: Callable[[str], Exception]) -> dict:
    """One JSON object (a line of a JSON-lines file); anything else raises ``fail(problem)``.

    >>> json_object('{"a": 1}', ValueError)
    {'a': 1}
    >>> json_object("[1]", ValueError)
    Traceback (most recent call last):
    ...
    ValueError: expected a JSON object, got list
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise fail("not valid UTF-8") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise fail("invalid JSON (nested too deeply)") from None
    if not isinstance(value, dict):
        raise fail(f"expected a JSON object, got {type(value).__name__}")
    return value


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
