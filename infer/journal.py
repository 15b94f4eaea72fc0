"""The progress journal of a prediction run: ``generated_predictions.progress.jsonl`` beside the output.

A header line (format, dataset size, the settings that change answers), then one line per answer (dataset index,
a hash of its prompt, the answer, its finish reason), each written with one ``write`` and fsynced, under an
exclusive lock. Reading checks every complete line against the dataset; an incomplete last line (a write cut by a
crash) is dropped and redone; anything else wrong is a :class:`ProgressError` naming file and line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cluener.files import fsync_dir, json_object

from .records import Record

# The format's name since it was made (as eval/api_predict.py); kept so that earlier progress files resume.
PROGRESS_FORMAT = "eval.api_predict/progress-v1"
# Settings that change what the model answers: a resumed run must use the same ones.
PINNED_SETTINGS = ("model", "max_tokens", "system", "extra_body")


class ProgressError(ValueError):
    """A progress file that is corrupt or belongs to another run (names the file and line), or that cannot be
    written (names the file and the system's reason: a full disk, a read-only folder)."""


def os_problem(path: str | os.PathLike, exc: OSError) -> str:
    """``path: reason`` for an OSError, naming the path even where the error has none (a write to an open file)."""
    return f"{exc.filename if exc.filename is not None else path}: {exc.strerror or exc}"


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]


def progress_path(output: str | os.PathLike) -> Path:
    """``.../generated_predictions.jsonl`` -> ``.../generated_predictions.progress.jsonl``."""
    output = Path(output)
    stem = output.name.removesuffix(".jsonl")
    return output.with_name(f"{stem}.progress.jsonl")


@dataclass
class Progress:
    """What a progress file holds: its header settings and index -> (predict, finish_reason)."""

    path: Path
    settings: dict[str, Any]
    done: dict[int, dict[str, Any]] = field(default_factory=dict)
    valid_bytes: int = 0  # length of the file up to its last complete line
    dropped_tail: bool = False


def read_progress(path: str | os.PathLike, records: list[Record]) -> Progress | None:
    """Read and check a progress file against the dataset; None when it does not exist or holds nothing.

    Every complete line must be valid; an incomplete last line (no newline: a write cut by a crash) is dropped.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProgressError(os_problem(path, exc)) from None
    end = raw.rfind(b"\n") + 1  # bytes up to the last complete line
    dropped_tail = end < len(raw)
    lines = raw[:end].split(b"\n")[:-1]
    if not lines:
        return Progress(path, {}, {}, 0, dropped_tail) if dropped_tail else None

    def fail(number: int, problem: str) -> ProgressError:
        return ProgressError(f"{path}:{number}: {problem}")

    def parse(number: int, line: bytes) -> dict:
        return json_object(line, lambda problem: fail(number, problem))

    header = parse(1, lines[0]).get("header")
    if not isinstance(header, dict) or header.get("format") != PROGRESS_FORMAT:
        raise fail(1, f'not a progress header (expected {{"header": {{"format": "{PROGRESS_FORMAT}", ...}}}})')
    if header.get("n") != len(records):
        raise fail(1, f"made for a dataset of {header.get('n')} records, this one has {len(records)}")
    done: dict[int, dict[str, Any]] = {}
    for number, line in enumerate(lines[1:], start=2):
        row = parse(number, line)
        index = row.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(records):
            raise fail(number, f"index {index!r} is not an integer in [0, {len(records)})")
        if not isinstance(row.get("predict"), str):
            raise fail(number, "'predict' is missing or not a string")
        if row.get("prompt_sha256") != prompt_hash(records[index].prompt):
            raise fail(number, f"index {index} was answered for a different prompt (another dataset?)")
        if index in done:
            raise fail(number, f"index {index} appears twice")
        if row.get("no_content") not in (None, "null", "missing"):
            raise fail(number, f"'no_content' is {row['no_content']!r}, not null, \"null\" or \"missing\"")
        done[index] = {"predict": row["predict"], "finish_reason": row.get("finish_reason")}
        if row.get("no_content"):
            done[index]["no_content"] = row["no_content"]
    return Progress(path, header, done, end, dropped_tail)


def check_settings(progress: Progress, settings: dict[str, Any]) -> None:
    for key in PINNED_SETTINGS:
        if progress.settings.get(key) != settings.get(key):
            raise ProgressError(
                f"{progress.path}:1: made with {key}={progress.settings.get(key)!r}, this run has "
                f"{key}={settings.get(key)!r}; rerun with the same settings to resume, or pass --restart "
                "(or another --output) to start over"
            )


class ProgressWriter:
    """Append-only, one ``write`` per line, fsynced; holds an exclusive lock so two runs cannot interleave."""

    def __init__(self, path: Path):
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise ProgressError(os_problem(path, exc)) from None
        try:
            _lock(self.fd, path)
            fsync_dir(path.parent)
        except BaseException:
            os.close(self.fd)
            raise

    def start(self, header: dict[str, Any]) -> None:
        """Empty the file and write the header line."""
        try:
            os.ftruncate(self.fd, 0)
        except OSError as exc:
            raise ProgressError(os_problem(self.path, exc)) from None
        self.append({"header": header})

    def keep(self, valid_bytes: int) -> None:
        """Drop anything after the last complete line (an incomplete write cut by a crash)."""
        try:
            if os.fstat(self.fd).st_size != valid_bytes:
                os.ftruncate(self.fd, valid_bytes)
                os.fsync(self.fd)
        except OSError as exc:
            raise ProgressError(os_problem(self.path, exc)) from None

    def append(self, row: dict[str, Any]) -> None:
        """One line, whole or not at all: a write that fails part-way (a full disk) is cut back off the file, and
        the :class:`ProgressError` names the file."""
        data = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
        view = memoryview(data)
        size = None
        try:
            size = os.fstat(self.fd).st_size
            while view:
                written = os.write(self.fd, view)
                view = view[written:]
            os.fsync(self.fd)
        except OSError as exc:
            if size is not None:
                with contextlib.suppress(OSError):  # else the reader drops the incomplete last line
                    os.ftruncate(self.fd, size)  # freeing space works on a full disk
            raise ProgressError(os_problem(self.path, exc)) from None

    def close(self) -> None:
        os.close(self.fd)


def _lock(fd: int, path: Path) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ProgressError(f"{path}: another `python -m infer` run is writing this file") from None
    except OSError as exc:  # e.g. no locks on this file system
        raise ProgressError(f"{path}: cannot lock it ({exc.strerror or exc})") from None
