"""``python -m infer``: predict a split through an OpenAI-compatible chat-completions endpoint (``make
predict-api``). Argument parsing only: the job (dataset, output, client, model choice, run, the lines it prints
and its exit status) is :mod:`infer.job`'s; the recipe's defaults are :mod:`infer.recipe`'s, the dataset
:mod:`infer.records`', the model choice and requests :mod:`infer.client`'s, the run and Ctrl-C :mod:`infer.runner`'s. See the package docstring (``python -c 'import infer; help(infer)'``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
from typing import Any
from urllib.parse import urlsplit

from cluener.layout import (
    RECIPE_DIR,
    SPLITS,
    RunNameError,
    check_run_name,
)

from .client import DEFAULT_BASE_URL
from .job import predict_job, split_or_name
from .recipe import MAX_TOKENS
from .runner import ctrl_c_stops_the_run, on_ctrl_c

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
    if args.dataset and args.split and split_or_name(args.dataset) != args.split:
        parser.error(f"--dataset {args.dataset} and --split {args.split} disagree; give one of them")
    return predict_job(args)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, on_ctrl_c)  # through the process exit, not only while main runs
    sys.exit(main())
