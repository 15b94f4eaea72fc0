"""``python -m infer``: predict a split through an OpenAI-compatible chat-completions endpoint (``make
predict-api``). Argument parsing, the lines it prints and its exit status only: the recipe's defaults are
:mod:`infer.recipe`'s, the dataset :mod:`infer.records`', the model choice and requests :mod:`infer.client`'s, the run
and Ctrl-C :mod:`infer.runner`'s. See the package docstring (``python -c 'import infer; help(infer)'``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cluener.layout import (
    API_SUFFIX,
    RECIPE_DIR,
    REPORTING_SPLIT,
    SPLITS,
    RecipeError,
    RunNameError,
    check_run_name,
    dataset_for_split,
    predictions_file,
    recipe_save_dir,
    split_of,
)

from .client import DEFAULT_BASE_URL, Client, RequestError
from .journal import ProgressError, os_problem, progress_path
from .recipe import MAX_TOKENS, recipe_defaults
from .records import DataError, load_records, resolve_dataset
from .runner import OutputError, check_output, ctrl_c_stops_the_run, on_ctrl_c, run

MAX_CONCURRENCY = 1024  # requests in flight, one thread each; servers queue beyond a few hundred anyway
MAX_TIMEOUT = 86400.0  # seconds per request: a day


def _json_object(text: str) -> dict[str, Any]:
    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    try:
        value = json.loads(text, parse_constant=refuse)  # NaN / Infinity: Python reads them, no server does
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def _integer(text: str, low: int, high: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < low or (high is not None and value > high):
        raise argparse.ArgumentTypeError(f"{value} is out of range: must be >= {low}" + (f" and <= {high}" if high else ""))
    return value


def _positive_int(text: str) -> int:
    return _integer(text, 1)


def _count(text: str) -> int:
    return _integer(text, 0)


def _concurrency(text: str) -> int:
    return _integer(text, 1, MAX_CONCURRENCY)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value):  # nan, inf
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number of seconds")
    return value


def _seconds(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative: must be >= 0")
    return value


def _timeout(text: str) -> float:
    value = _number(text)
    if not 0 < value <= MAX_TIMEOUT:  # 0 would fail every connection ("Operation now in progress")
        raise argparse.ArgumentTypeError(f"{text} is out of range: must be > 0 and <= {MAX_TIMEOUT:.0f} seconds")
    return value


def _base_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http:// or https:// URL with a host")
    try:
        port = parts.port
    except ValueError:  # not a number, or over 65535
        port = 0
    if port == 0:
        port_text = parts.netloc.rpartition(":")[2]
        raise argparse.ArgumentTypeError(
            f"{text!r} has a bad port {port_text!r}: must be a number from 1 to 65535 (make predict-api: API_PORT=)"
        )
    return text


def _split(text: str) -> str:
    if text not in SPLITS:
        raise argparse.ArgumentTypeError(f"unknown split {text!r}: expected one of {', '.join(SPLITS)}")
    return text


def _recipe_name(text: str) -> str:
    try:
        return check_run_name(text)  # a folder name under saves/: never a path
    except RunNameError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a recipe name (letters, digits and . _ + = -, starting with a letter or digit)"
        ) from None


def _split_or_name(dataset: str) -> str:
    """The split of a project dataset, else the dataset's own name (a file's stem): the output folder's name."""
    return split_of(dataset) or (Path(dataset).stem if dataset.endswith((".json", ".jsonl")) else dataset)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infer",
        description=__doc__.split("\n\n")[0],
        epilog="See the package docstring (python -c 'import infer; help(infer)') for the details.",
    )
    parser.add_argument(
        "--name",
        type=_recipe_name,
        help="recipe basename: output under saves/<name>/predict_<split>_api/, and the "
        "dataset variant, max tokens and thinking setting of yaml_configs/*/<name>.yaml",
    )
    parser.add_argument("--split", type=_split, help="train|val|dev|test: the recipe's dataset of that split (default: dev)")
    parser.add_argument(
        "--dataset",
        help="instead of --split: a name registered in <dataset-dir>/dataset_info.json "
        "(e.g. cluener_dev) or an alpaca .json/.jsonl file",
    )
    parser.add_argument("--dataset-dir", default=".", help="folder of dataset_info.json (default: .)")
    parser.add_argument("--recipe-dir", default=RECIPE_DIR, help=argparse.SUPPRESS)
    parser.add_argument(
        "--output", help="output file (default: saves/<name>/predict_<split>_api/generated_predictions.jsonl)"
    )
    parser.add_argument("--base-url", type=_base_url, default=DEFAULT_BASE_URL, help=f"default: {DEFAULT_BASE_URL}")
    parser.add_argument(
        "--model",
        help="model name sent in the request (default: the only one the server lists, else the one named like "
        "--name, as make serve-vllm names the LoRA adapter; make predict-api: SERVED_MODEL=)",
    )
    parser.add_argument("--system", help="system message (default: none, the chat template's default applies)")
    parser.add_argument("--max-tokens", type=_positive_int, help=f"default: the recipe's max_new_tokens, else {MAX_TOKENS}")
    parser.add_argument(
        "--extra-body",
        type=_json_object,
        default=None,
        help="JSON object merged into each request (model, messages, temperature, max_tokens and stream stay the "
        "client's). Default: "
        '\'{"chat_template_kwargs": {"enable_thinking": false}}\' when the recipe has '
        "enable_thinking: false (hybrid Qwen3; vllm serve needs it, LLaMA-Factory ignores it)",
    )
    parser.add_argument(
        "--concurrency", type=_concurrency, default=8, help=f"requests in flight, 1-{MAX_CONCURRENCY} (default: 8)"
    )
    parser.add_argument("--timeout", type=_timeout, default=600.0, help="seconds per request (default: 600)")
    parser.add_argument("--max-retries", type=_count, default=8, help="retries per request (default: 8)")
    parser.add_argument(
        "--backoff",
        type=_seconds,
        default=1.0,
        help="first retry delay in seconds, doubled each time (default: 1, capped at 60)",
    )
    parser.add_argument("--limit", type=_positive_int, help="only the first N records (a smoke run)")
    parser.add_argument("--restart", action="store_true", help="discard earlier progress and start over")
    parser.add_argument("--no-progress-bar", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The CLI. Ctrl-C: :func:`infer.runner.ctrl_c_stops_the_run`."""
    with ctrl_c_stops_the_run():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.output and not args.name:
        parser.error("give --name (output under saves/<name>/) or --output")
    if args.output and args.output.endswith(("/", os.sep)):
        parser.error(f"argument --output: {args.output!r} names a folder; give a file path")
    if args.dataset and args.split and _split_or_name(args.dataset) != args.split:
        parser.error(f"--dataset {args.dataset} and --split {args.split} disagree; give one of them")
    output = None
    try:
        recipe = recipe_defaults(args.name, args.recipe_dir)
        split = args.split or (_split_or_name(args.dataset) if args.dataset else REPORTING_SPLIT)
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


if __name__ == "__main__":
    signal.signal(signal.SIGINT, on_ctrl_c)  # through the process exit, not only while main runs
    sys.exit(main())
