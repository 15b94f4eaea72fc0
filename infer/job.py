"""One prediction job of ``python -m infer`` (``make predict-api``), from its parsed arguments: resolve the dataset and
the output path (checked before the first request), open the client, choose the model, run, and print the closing
lines; returns the exit status (0, 1 for a one-line error, 130 when stopped). Argument parsing is
:mod:`infer.__main__`'s.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cluener.layout import (
    API_SUFFIX, REPORTING_SPLIT, RecipeError, dataset_for_split, predictions_file, recipe_save_dir, split_of,
)  # fmt: skip

from .client import Client, RequestError
from .journal import ProgressError, os_problem, progress_path
from .recipe import recipe_defaults
from .records import DataError, load_records, resolve_dataset
from .runner import OutputError, check_output, run


def split_or_name(dataset: str) -> str:
    """The split of a project dataset, else the dataset's own name (a file's stem): the output folder's name.

    >>> split_or_name("cluener_dev"), split_or_name("data/my_file.jsonl"), split_or_name("other")
    ('dev', 'my_file', 'other')
    """
    return split_of(dataset) or (Path(dataset).stem if dataset.endswith((".json", ".jsonl")) else dataset)


def predict_job(args: argparse.Namespace) -> int:
    """The job the arguments describe (``infer.__main__.build_parser``'s, checked there)."""
    output = None
    try:
        recipe = recipe_defaults(args.name, args.recipe_dir)
        split = args.split or (split_or_name(args.dataset) if args.dataset else REPORTING_SPLIT)
        dataset = args.dataset or dataset_for_split(split, recipe.dataset)
        path, columns = resolve_dataset(dataset, args.dataset_dir)
        records = load_records(path, columns)
        output = Path(args.output) if args.output else predictions_file(recipe_save_dir(args.name), split, API_SUFFIX)
        check_output(output, path)  # before the first request: a folder or a read-only place fails now
    except (DataError, RecipeError, OutputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopped (interrupted) before the first request", file=sys.stderr)
        return 130
    max_tokens, extra_body = recipe.request_max_tokens(args.max_tokens), recipe.request_extra_body(args.extra_body)
    try:
        client = Client(
            base_url=args.base_url,
            model=args.model,
            max_tokens=max_tokens,
            system=args.system,
            extra_body=extra_body,
            timeout=args.timeout,
            max_retries=args.max_retries,
            backoff=args.backoff,
            concurrency=args.concurrency,
        )
    except RequestError as exc:  # an API key or a proxy setting that cannot be used
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sidecar = progress_path(output)
    try:
        client.choose_model(args.name)
        settings = {
            "model": client.model,
            "max_tokens": max_tokens,
            "system": args.system,
            "extra_body": extra_body,
            "dataset": str(path),
            "base_url": args.base_url,
        }
        print(
            f"{dataset} ({path}, {len(records)} records) -> {output}\n"
            f"  model {client.model} at {args.base_url}, greedy, max_tokens {max_tokens}"
            + (f", extra body {json.dumps(extra_body)}" if extra_body else ""),
            file=sys.stderr,
        )
        summary = run(
            records, output, client, settings, args.concurrency, args.restart, args.limit, not args.no_progress_bar
        )
    except (ProgressError, RequestError, OutputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        kept = f"; the answers so far are kept in {sidecar}" if sidecar.exists() else ""
        print(f"stopped (interrupted){kept}; rerun the same command to resume", file=sys.stderr)
        return 130
    except OSError as exc:  # anything not foreseen above still names its path
        print(f"error: {os_problem(output, exc)}", file=sys.stderr)
        return 1
    finally:
        client.close()
    lines, status = summary.closing(max_tokens, sidecar, args.limit)
    for line in lines:
        print(line, file=sys.stderr)
    return status
