"""Progress on the terminal for a long step whose output goes to a log file: the one owner of that line.

LLaMA-Factory appends a JSON line to ``<output_dir>/trainer_log.jsonl`` at every logging step of training (``loss``,
``eval_loss``) and every 5 steps of prediction; :class:`Follower` reads the lines added since it started, and
:class:`Display` shows the latest as one line: ``train 37/120 steps, loss 1.23, eta 1m40s``. On a terminal that line
is rewritten in place (``\\r``); when the stream is not a terminal (CI logs, a pipe) each new state is a plain line
of its own, so the log stays readable. :func:`run` runs a command with its output to a log file and shows that line
meanwhile (``make demo``'s train and predict steps, scripts/demo.py).

    python -m cluener.progress saves/<run>/trainer_log.jsonl [--label train]   # watch a run started elsewhere

Standard library only (the light tier tests it on real trainer_log.jsonl lines).

>>> progress_line("train", {"current_steps": 37, "total_steps": 120, "loss": 1.2345, "remaining_time": "0:01:40"})
'train 37/120 steps, loss 1.23, eta 1m40s'
>>> progress_line("predict", {"current_steps": 5, "total_steps": 42, "remaining_time": "1 day, 2:03:04"})
'predict 5/42 steps, eta 26h03m'
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any, Sequence

from cluener.layout import TRAINER_LOG

POLL_SECONDS = 0.5
_TIMEDELTA = re.compile(r"^(?:(?P<days>\d+) days?, )?(?P<h>\d+):(?P<m>\d{2}):(?P<s>\d{2})(?:\.\d+)?$")


def short_duration(text: Any) -> str | None:
    """LF's ``str(timedelta)`` (``0:01:40``, ``1 day, 2:03:04``) as ``1m40s`` / ``26h03m`` / ``7s``; None if unreadable.

    >>> short_duration("0:00:07"), short_duration("0:12:05"), short_duration("3:04:59"), short_duration("soon")
    ('7s', '12m05s', '3h04m', None)
    """
    match = _TIMEDELTA.match(str(text).strip())
    if not match:
        return None
    return _hms((int(match["days"] or 0) * 24 + int(match["h"])) * 3600 + int(match["m"]) * 60 + int(match["s"]))


def _hms(total_seconds: int) -> str:
    hours, minutes, seconds = total_seconds // 3600, total_seconds // 60 % 60, total_seconds % 60
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def progress_line(label: str, entry: dict[str, Any], last_loss: float | None = None) -> str:
    """One line of a trainer_log.jsonl entry; ``last_loss``: the training loss of an earlier entry (an eval entry
    carries none)."""
    parts = [label]
    current, total = entry.get("current_steps"), entry.get("total_steps")
    if _number(current) and _number(total) and total:
        parts[0] += f" {current}/{total} steps"
    loss = entry.get("loss") if _number(entry.get("loss")) else last_loss
    details = [f"loss {loss:.3g}"] if _number(loss) else []
    if _number(entry.get("eval_loss")):
        details.append(f"eval loss {entry['eval_loss']:.3g}")
    eta = short_duration(entry.get("remaining_time", ""))
    if eta and not (_number(current) and current == total):
        details.append(f"eta {eta}")
    return ", ".join(parts + details)


class Follower:
    """The complete JSON lines appended to a file since the follower was made (the file may not exist yet, or be
    replaced: LF deletes an old trainer_log.jsonl when it overwrites a run). A half-written last line waits for its
    newline; a line that is not a JSON object is skipped (this is a display, the file itself is LF's)."""

    def __init__(self, path: str | os.PathLike, from_start: bool = False):
        self.path = Path(path)
        self._buffer = b""
        self._identity, self._offset = (None, 0) if from_start else self._stat()

    def _stat(self) -> tuple[tuple[int, int] | None, int]:
        try:
            stat = self.path.stat()
        except OSError:
            return None, 0
        return (stat.st_dev, stat.st_ino), stat.st_size

    def read(self) -> list[dict[str, Any]]:
        identity, size = self._stat()
        if identity is None:
            return []
        if identity != self._identity or size < self._offset:  # a new file: read it from its start
            self._identity, self._offset, self._buffer = identity, 0, b""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except OSError:
            return []
        self._offset += len(chunk)
        *lines, self._buffer = (self._buffer + chunk).split(b"\n")
        entries = []
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                entries.append(entry)
        return entries


class Display:
    """The progress line on ``stream``: rewritten in place on a terminal, else a new line per new state."""

    def __init__(self, label: str, stream: IO[str] | None = None, tty: bool | None = None):
        self.label, self.stream = label, stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.line, self.last_loss, self._shown = "", None, False
        self._started = time.monotonic()

    def update(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            line = progress_line(self.label, entry, self.last_loss)
            if _number(entry.get("loss")):
                self.last_loss = entry["loss"]
            if line != self.line and not self.tty:
                self.stream.write(line + "\n")
            self.line = line
        if self.tty:
            elapsed = _hms(int(time.monotonic() - self._started))
            self.stream.write(f"\r{self.line or self.label + ': starting'} ({elapsed} elapsed)\x1b[K")
            self._shown = True
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and self._shown:
            self.stream.write("\n")
            self.stream.flush()


def run(cmd: Sequence[str], log: str | os.PathLike, follow: str | os.PathLike, label: str, *,
        cwd: str | os.PathLike | None = None, env: dict[str, str] | None = None,
        stream: IO[str] | None = None) -> int:  # fmt: skip
    """Run ``cmd`` with stdout and stderr to ``log``, showing the progress of ``follow`` (a trainer_log.jsonl,
    relative to ``cwd``) on ``stream`` until it exits; its exit status."""
    follower = Follower(Path(cwd or ".") / follow)
    display = Display(label, stream)
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as handle:
        process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT)
        try:
            while process.poll() is None:
                display.update(follower.read())
                time.sleep(POLL_SECONDS)
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            display.update(follower.read())
            display.finish()
    return process.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cluener.progress", description=__doc__.split("\n\n")[0])
    parser.add_argument("trainer_log", help=f"a run's {TRAINER_LOG} (saves/<run>/{TRAINER_LOG})")
    parser.add_argument("--label", default="train")
    args = parser.parse_args(argv)
    follower, display = Follower(args.trainer_log, from_start=True), Display(args.label)
    try:
        while True:
            entries = follower.read()
            display.update(entries)
            if any(e.get("current_steps") == e.get("total_steps") and not {"loss", "eval_loss"} & set(e) for e in entries):
                return 0  # LF's last line of a run: its steps done, no loss (the train summary)
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        return 0
    finally:
        display.finish()


if __name__ == "__main__":
    sys.exit(main())
