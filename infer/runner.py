"""The run loop: answer every record not yet in the progress journal, with a bounded pool of threads, and write
the final ``generated_predictions.jsonl`` (atomically, in dataset order) once every record is answered.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cluener.files import atomic_write_jsonl
from cluener.layout import PREDICTIONS_FILE

from .client import Answer, Client, RequestError
from .journal import (
    PROGRESS_FORMAT,
    ProgressError,
    ProgressWriter,
    check_settings,
    progress_path,
    prompt_hash,
    read_progress,
)
from .records import Record


@dataclass
class Summary:
    total: int
    done: int
    new: int
    truncated: int
    output: Path | None
    error: str | None = None
    no_content: int = 0  # answers without content (null or missing): written with "no_content", counted by eval

    def closing(self, max_tokens: int, progress: Path, limit: int | None) -> tuple[list[str], int]:
        """What the command says when the run ends (stderr lines) and its exit status: 0 written, 130 interrupted,
        1 stopped by an error; each time, the answers kept in ``progress`` for a rerun to resume from."""
        lines = []
        if self.truncated:
            lines.append(f"warning: {self.truncated} answers stopped at max_tokens {max_tokens}")
        if self.no_content:
            lines.append(
                f"warning: {self.no_content} answer{'s' if self.no_content > 1 else ''} with no content (null or "
                'missing in the server\'s answer): written as "predict": "" with "no_content", counted as failed by '
                "python -m eval"
            )
        if self.output is None:
            why = self.error or "incomplete"
            lines.append(
                f"{'error: ' if self.error != 'interrupted' else ''}stopped ({why}): {self.done}/{self.total} "
                f"done, {self.new} new, kept in {progress}; rerun the same command to resume"
            )
            return lines, 130 if self.error == "interrupted" else 1
        lines.append(f"wrote {self.output}: {self.total} predictions ({self.new} new this run)")
        if limit is not None:
            lines.append(f"note: --limit {limit}: the file covers only the first {self.total} records; make report "
                         "scores it as a partial run (not comparable with complete runs)")  # fmt: skip
        return lines, 0


_interrupted: list[bool] = []  # a first Ctrl-C was seen


def on_ctrl_c(signum, frame) -> None:
    """SIGINT: the first stops the run (KeyboardInterrupt, every answer written so far is kept); a second one, while
    it stops, exits on the spot (130): the journal holds whole lines only, there is nothing to finish."""
    if _interrupted:
        os.write(2, b"stopped at once (a second Ctrl-C); the progress file keeps every answer written so far\n")
        os._exit(130)
    _interrupted.append(True)
    raise KeyboardInterrupt


@contextmanager
def ctrl_c_stops_the_run():
    """:func:`on_ctrl_c` handles SIGINT inside the block (in the main thread; elsewhere Python's default stays).
    Unlike ``python -m eval`` (:mod:`eval.process`), SIGTERM keeps its default: the journal is appended in whole
    lines and the final file is replaced atomically, so a process ended anywhere leaves what a rerun resumes from."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_ctrl_c) if in_main_thread else None
    _interrupted.clear()
    try:
        yield
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous)


class OutputError(ValueError):
    """An output path that cannot be written (names the path and the reason)."""


def check_output(output: str | os.PathLike, dataset: str | os.PathLike | None = None) -> None:
    """Check, before the first request, that the final file and its journal can be written where they go: not a
    folder, not the dataset itself, under a folder (the nearest one that exists) where a file can be created (a
    real create and remove: it also sees a read-only file system, which permission bits do not show to root)."""
    output = Path(output)
    for path in (output, progress_path(output)):
        if path.is_dir():
            raise OutputError(f"{path}: is a folder; give --output a file path (e.g. {path / PREDICTIONS_FILE})")
    if dataset is not None and output.exists() and output.resolve() == Path(dataset).resolve():
        raise OutputError(f"{output}: is the dataset being predicted; give --output another file")
    place = output.parent  # the nearest folder that exists: nothing is made before the run starts
    while not place.exists() and place != place.parent:
        place = place.parent
    if not place.is_dir():
        raise OutputError(f"cannot make the output's folder {output.parent}: {place} is a file")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=place)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"{place}: cannot write {output.name} there ({exc.strerror or exc})") from None


def run(
    records: list[Record],
    output: Path,
    client: Client,
    settings: dict[str, Any],
    concurrency: int = 8,
    restart: bool = False,
    limit: int | None = None,
    progress_bar: bool = True,
) -> Summary:
    """Answer every record not yet in the progress file; write the final file when all are done."""
    output = Path(output)
    sidecar = progress_path(output)
    check_output(output)
    writer = ProgressWriter(sidecar)  # locked from here on: a second run on the same output stops
    try:
        if restart and output.exists():
            output.unlink()
        progress = None if restart else read_progress(sidecar, records)
        fresh = progress is None or not progress.settings
        if fresh:
            writer.start(dict(settings, format=PROGRESS_FORMAT, n=len(records)))
            done: dict[int, dict[str, Any]] = {}
        else:
            check_settings(progress, settings)
            if progress.dropped_tail:
                print(
                    f"warning: {sidecar}: dropped an incomplete last line (cut by a crash); it is redone",
                    file=sys.stderr,
                )
            writer.keep(progress.valid_bytes)
            done = dict(progress.done)
        wanted = records if limit is None else records[:limit]
        pending = [r for r in wanted if r.index not in done]
        new, error = 0, None
        if pending:
            new, error = _answer(pending, client, writer, done, concurrency, len(wanted), progress_bar)
        complete = all(r.index in done for r in wanted)
        written = None
        if complete and error is None:
            try:
                atomic_write_jsonl(output, (_final_row(r, done[r.index]) for r in wanted))
                written = output
            except OSError as exc:  # every answer is in the journal: the rerun writes the file without a request
                error = f"{output}: {exc.strerror or exc}"  # the file, never the name of its temp file
    finally:
        writer.close()
    answered = [done[r.index] for r in wanted if r.index in done]
    truncated = sum(1 for answer in answered if answer.get("finish_reason") == "length")
    no_content = sum(1 for answer in answered if answer.get("no_content"))
    return Summary(len(wanted), len(answered), new, truncated, written, error, no_content)


def _final_row(record: Record, answer: dict[str, Any]) -> dict[str, Any]:
    """A line of generated_predictions.jsonl; ``no_content`` only where the server's answer had none."""
    row = {"prompt": record.prompt, "predict": answer["predict"], "label": record.label}
    if answer.get("no_content"):
        row["no_content"] = answer["no_content"]
    return row


def _answer(pending, client, writer, done, concurrency, total, progress_bar) -> tuple[int, str | None]:
    """Answer ``pending`` with ``concurrency`` worker threads; only this thread writes the journal.

    The workers are daemon threads, so that Ctrl-C ends the run at once: the answers written so far are in the
    journal, and a request left in flight is simply asked again by the rerun (the process exit ends its thread;
    nothing waits for its timeout). A failed request, or a journal that cannot be written, stops the workers taking
    new records; on a request error the answers already in flight are still waited for and kept.
    """
    from tqdm import tqdm

    jobs: queue.SimpleQueue[Record] = queue.SimpleQueue()
    results: queue.SimpleQueue[tuple[Record, Answer | None, BaseException | None] | None] = queue.SimpleQueue()
    for record in pending:
        jobs.put(record)

    def work() -> None:
        try:
            while not client.stop.is_set():
                try:
                    record = jobs.get_nowait()
                except queue.Empty:
                    return
                try:
                    results.put((record, client.complete(record.prompt), None))
                except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which decides
                    results.put((record, None, exc))  # first: a "stopped" of another worker comes after it
                    client.stop.set()  # no worker takes another record; the others' answers in flight are kept
        finally:
            results.put(None)  # this worker is done

    workers = [
        threading.Thread(target=work, name=f"infer-worker-{i}", daemon=True)
        for i in range(min(concurrency, len(pending)))
    ]
    new, error, running = 0, None, len(workers)
    bar = tqdm(total=total, initial=total - len(pending), unit="ex", disable=not progress_bar, dynamic_ncols=True)
    try:
        for worker in workers:
            worker.start()
        while running:
            item = results.get()
            if item is None:
                running -= 1
                continue
            record, answer, exc = item
            if exc is not None:
                if not isinstance(exc, RequestError):
                    raise exc  # a bug, not the server: let it show
                if error is None:
                    error = f"record {record.index}: {exc}"
                continue
            entry = {"predict": answer.text, "finish_reason": answer.finish_reason}
            if answer.no_content:
                entry["no_content"] = answer.no_content
            try:
                writer.append({"index": record.index, "prompt_sha256": prompt_hash(record.prompt), **entry})
            except ProgressError as journal_error:  # a full disk: what is written stays exact
                client.stop.set()
                return new, str(journal_error)
            done[record.index] = entry
            new += 1
            bar.update(1)
    except KeyboardInterrupt:
        client.stop.set()
        error = "interrupted"
    finally:
        bar.close()
    return new, error
