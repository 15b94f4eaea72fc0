"""How a ``python -m eval`` command's process stops and writes: the stop signals (Ctrl-C, SIGTERM, SIGHUP) become
:class:`Stopped`, so whatever is being written is dropped whole on the way out, and an stdout whose reader went away
(``| head``) stops nothing (:class:`QuietPipe`).

``python -m infer`` stops differently on purpose (``infer/runner.py``): a first Ctrl-C keeps every answer in its
journal and a second exits at once, since its journal holds whole lines only and there is nothing to drop.
"""

from __future__ import annotations

import os
import signal

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(BaseException):
    """A stop signal (Ctrl-C, SIGTERM, SIGHUP) while a command runs. A BaseException, like KeyboardInterrupt: no
    ``except Exception`` holds it up, and every temp file or folder being written is removed on the way out."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def catch(handler) -> dict:
    """Install ``handler`` for each stop signal not ignored (a signal ignored by whoever started us, such as SIGINT
    for a background job of a script, stays ignored); returns the handlers it replaced."""
    return {s: signal.signal(s, handler) for s in STOP_SIGNALS if signal.getsignal(s) is not signal.SIG_IGN}


def stopped_while_starting(signum, _frame) -> None:
    """The handler while the command's modules are imported: nothing is written yet, so just go (one line)."""
    os.write(2, f"error: interrupted ({signal.Signals(signum).name}): stopped before anything was written\n".encode())
    os._exit(128 + signum)


def stop(signum, _frame) -> None:
    """The handler while a command runs: raise :class:`Stopped` (once: a second signal must not cut the clean-up
    short)."""
    for other in STOP_SIGNALS:
        signal.signal(other, signal.SIG_IGN)
    raise Stopped(signum)


def stop_signal_of(exc: BaseException) -> int | None:
    """The stop signal behind ``exc`` (Stopped or KeyboardInterrupt, itself or in its chain), else None.

    A signal that lands inside a module's import (matplotlib's C part, say) comes out as that module's ImportError
    "initialization failed", with the Stopped as its cause.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, Stopped):
            return exc.signum
        if isinstance(exc, KeyboardInterrupt):
            return signal.SIGINT
        exc = exc.__cause__ or exc.__context__
    return None


class QuietPipe:
    """stdout that outlives its reader (``python -m eval report | head -1``): once the pipe is closed, what is
    printed goes nowhere and the command does its work to the end (never a BrokenPipeError traceback)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            self._drop()
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._drop()

    def _drop(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.stream.fileno())
        os.close(devnull)

    def __getattr__(self, name: str):
        return getattr(self.stream, name)
