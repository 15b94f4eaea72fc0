"""The run loop: answer every record not yet in the progress journal, with a bounded pool of threads, and write
the final ``generated_predictions.jsonl`` (atomically, in dataset order) once every record is answered.
"""

from __future__ import annotations

import concurrent.futures
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cluener.files import atomic_write_jsonl

from .client import Client, RequestError
from .journal import PROGRESS_FORMAT, ProgressWriter, check_settings, progress_path, prompt_hash, read_progress
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
            atomic_write_jsonl(output, (_final_row(r, done[r.index]) for r in wanted))
            written = output
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
    from tqdm import tqdm

    new = 0
    error = None
    queue = iter(pending)
    in_flight: dict[concurrent.futures.Future, Record] = {}
    bar = tqdm(total=total, initial=total - len(pending), unit="ex", disable=not progress_bar, dynamic_ncols=True)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="api_predict")
    try:

        def refill() -> None:
            while error is None and len(in_flight) < concurrency:
                record = next(queue, None)
                if record is None:
                    return
                in_flight[pool.submit(client.complete, record.prompt)] = record

        refill()
        while in_flight:
            finished, _ = concurrent.futures.wait(in_flight, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in finished:
                record = in_flight.pop(future)
                try:
                    answer = future.result()
                except RequestError as exc:
                    if error is None:
                        error = f"record {record.index}: {exc}"
                        client.stop.set()  # stop retrying elsewhere; answers already in flight are still kept
                    continue
                entry = {"predict": answer.text, "finish_reason": answer.finish_reason}
                if answer.no_content:
                    entry["no_content"] = answer.no_content
                writer.append({"index": record.index, "prompt_sha256": prompt_hash(record.prompt), **entry})
                done[record.index] = entry
                new += 1
                bar.update(1)
            refill()
    except KeyboardInterrupt:
        client.stop.set()
        error = "interrupted"
    finally:
        pool.shutdown(wait=error != "interrupted", cancel_futures=True)
        bar.close()
    return new, error
