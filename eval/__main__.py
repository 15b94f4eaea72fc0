"""``python -m eval``: score LLaMA-Factory predictions on CLUENER2020 and write reports.

  score PRED [--split SPLIT | --gold FILE [--split-name NAME]] [--name RUN]
                                                        one run -> reports/RUN/ (report.md, metrics.json,
                                                        f1_per_class.png, cluener_predict.json, details.jsonl);
                                                        no --split/--gold: the split its path names, else the one
                                                        its prompts hold (eval/split_match.py); no --name: the
                                                        run of its path (cluener/layout.py's default_run_name);
                                                        read from that run alone
  index [--reports reports]                             reports/README.md: every run, each against the best run of
                                                        its split (paired bootstrap)
  report [--saves saves] [--reports reports]            score every saves/<RECIPE>/predict_<SPLIT>[_<suffix>]/
                                                        generated_predictions.jsonl without an up-to-date report
                                                        (run <RECIPE>-<SPLIT>[_<suffix>]), and every LLaMA Board
                                                        run's saves/<model>/<method>/<run>/ (run <model>_<method>_
                                                        <run>, split read from its prompts), then the index
  compare RUN_A RUN_B [--reports DIR] [--json]           paired bootstrap of two runs on the same sentences:
                                                        delta = A - B, its 95% interval and p-value (eval/compare.py)
  ensemble RUN... --name NAME [--min-votes K]           per-sentence entity vote -> reports/NAME/ (eval/ensemble.py)
  submit PRED --out FILE [--split test | --gold FILE]   the CLUENER-format submission file only

``score`` and ``ensemble`` write their run's folder only; ``index`` (or ``report``, ``make report``) brings
reports/README.md up to date.

PRED is ``generated_predictions.jsonl`` (one JSON object per line with ``predict``, in dataset order; a line may
add its exact ``spans``), or a CLUENER-format predictions file (``label`` holds the spans; see eval/predictions.py,
for span taggers such as encoder_ner). The gold
comes from ``--split`` (train / val / dev / test, through data/manifest.json as written by ``make data``) or from a
CLUENER file (``--gold``; its split is ``--split-name``, else the official split whose file it is, else ``custom``).
This module parses arguments only: the work is in :mod:`eval.runs`, :mod:`eval.report`, :mod:`eval.compare`,
:mod:`eval.ensemble` and :mod:`cluener.splits`; stop signals and stdout are :mod:`eval.process`'s. Exit status: 0
done, 1 an input error (one line: file:line: problem, or the path that cannot be read or written; ``report``: some
runs failed, each named), 2 bad arguments, 128 + N stopped by signal N (Ctrl-C: 130; one line, and whatever was
being written is dropped: a report or file is complete or absent). An output folder that cannot be written is
refused before any work; stdout may be closed early (``| head``) without stopping the work.
Predictions must be in the gold order, checked through their prompts; ``--no-order-check`` scores a file whose lines
carry no prompt (only when you know they are in the gold order).
"""

# ruff: noqa: E402 (the stop signals are caught before the heavy imports)
from __future__ import annotations

import signal
import sys

if __name__ == "__main__":  # a Ctrl-C during the imports below is one line too, never a traceback
    from eval.process import catch, stopped_while_starting

    catch(stopped_while_starting)

import argparse
import json
import os
import tempfile
import threading
from pathlib import Path

from cluener.files import os_error_text
from cluener.layout import (
    DATA_DIR, INDEX_FILE, PREDICTIONS_FILE, REPORTS_DIR, SAVES_DIR, SPLITS, RunNameError, check_run_name,
    default_run_name,
)  # fmt: skip
from cluener.splits import Gold, gold_of_file, gold_of_split

from .compare import compare_runs, render_comparison
from .ensemble import EnsembleError, write_ensemble
from .process import QuietPipe, catch, stop, stop_signal_of
from .report import write_index
from .runs import INPUT_ERRORS as RUN_INPUT_ERRORS
from .runs import gold_loader, report_all, score_file, split_of_file, summary_line, write_submission

INPUT_ERRORS = (*RUN_INPUT_ERRORS, EnsembleError)


class UsageError(ValueError):
    """An argument that cannot work (names the argument)."""


def check_writable(folder: str | os.PathLike, option: str) -> None:
    """Fail at once, naming ``option`` and ``folder``, when nothing can be written there (read-only, no access):
    before any scoring, not after it."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-check.", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"{option} {folder}: cannot write there ({exc.strerror or exc})") from None


def gold_of_args(args) -> Gold:
    return gold_of_file(args.gold, args.split_name) if args.gold else gold_of_split(args.split, args.data_dir)


def run_name_arg(name: str, option: str) -> str:
    """A run named on the command line: a folder name under --reports (never a path), else a UsageError."""
    try:
        return check_run_name(name)
    except RunNameError as exc:
        raise UsageError(f"{option}: {exc}") from None


def cmd_score(args) -> int:
    if args.name is not None:
        run_name_arg(args.name, "--name")
    check_writable(args.reports, "--reports")
    pred = Path(args.predictions)
    if args.gold or args.split:
        gold = gold_of_args(args)
    else:  # the split of its path, else the one its prompts hold
        load_gold = gold_loader(args.data_dir)
        gold = load_gold(split_of_file(pred, load_gold))
    name = args.name
    if name is None:  # the run of its path: the project's, LLaMA Board's, else the file's
        name = run_name_arg(default_run_name(pred, gold.split), f"{pred}: the run name made of its path; give one, --name (RUN=)")
    metrics = score_file(pred, gold, name, Path(args.reports), not args.no_order_check)
    print(summary_line(metrics, Path(args.reports)))
    return 0


def cmd_index(args) -> int:
    check_writable(args.reports, "--reports")
    print(f"wrote {write_index(args.reports)}")
    return 0


def cmd_report(args) -> int:
    reports = Path(args.reports)
    check_writable(reports, "--reports")
    tried, failed = report_all(Path(args.saves), reports, args.data_dir, not args.no_order_check, args.refresh)
    try:
        print(f"wrote {write_index(reports)}")
        index_written = True
    except OSError as exc:
        print(f"error: {os_error_text(exc, reports)}: {reports / INDEX_FILE} not updated", file=sys.stderr)
        index_written = False
    if failed:
        print(f"error: {len(failed)} of {tried} runs failed: {', '.join(failed)}", file=sys.stderr)
    return 0 if index_written and not failed else 1


def cmd_compare(args) -> int:
    for option, name in (("RUN_A", args.run_a), ("RUN_B", args.run_b)):
        run_name_arg(name, option)
    result = compare_runs(args.run_a, args.run_b, args.reports)
    print(json.dumps(result) if args.json else render_comparison(args.run_a, args.run_b, result), end="\n")
    return 0


def cmd_ensemble(args) -> int:
    run_name_arg(args.name, "--name")
    for name in args.runs:
        run_name_arg(name, "RUN")
    check_writable(args.reports, "--reports")
    metrics = write_ensemble(args.runs, args.name, args.reports, args.min_votes, args.data_dir)
    print(summary_line(metrics, Path(args.reports)))
    return 0


def cmd_submit(args) -> int:
    if Path(args.out).is_dir():
        raise UsageError(f"--out {args.out}: is a directory; give the path of the file to write")
    check_writable(Path(args.out).parent, "--out")
    stats = write_submission(Path(args.predictions), gold_of_args(args), args.out, not args.no_order_check)
    print(
        f"wrote {args.out}: {stats['total']} lines; parse ok {stats['ok']} repaired {stats['repaired']} "
        f"failed {stats['failed']}, hallucinated strings {stats['hallucinated']} (not in the file: no span)"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--data-dir", default=DATA_DIR, help=f"where `make data` wrote manifest.json (default: {DATA_DIR})"
        )
        p.add_argument(
            "--no-order-check",
            "--no-prompt-check",
            dest="no_order_check",
            action="store_true",
            help="score even if the order cannot be checked: by default every prediction's prompt must contain its "
            "gold sentence, and a line without a prompt is an error",
        )

    def gold_options(p: argparse.ArgumentParser, required: bool, default_split: str | None) -> None:
        gold = p.add_mutually_exclusive_group(required=required)
        gold.add_argument("--split", choices=SPLITS, default=default_split)
        gold.add_argument("--gold", help="a CLUENER-format gold file")
        p.add_argument(
            "--split-name",
            help="with --gold: the split the report names (default: the official split whose file it is, else custom)",
        )

    score = sub.add_parser("score", help="score one predictions file into reports/RUN/")
    score.add_argument("predictions", help=PREDICTIONS_FILE)
    gold_options(score, required=False, default_split=None)
    score.add_argument("--name", help="run name: the folder under --reports (default: the run of its path)")
    score.add_argument("--reports", default=REPORTS_DIR)
    common(score)
    score.set_defaults(func=cmd_score)

    index = sub.add_parser("index", help="write reports/README.md: every run, each against the best of its split")
    index.add_argument("--reports", default=REPORTS_DIR)
    index.set_defaults(func=cmd_index)

    report = sub.add_parser("report", help="score every recipe's predictions that has no up-to-date report")
    report.add_argument("--saves", default=SAVES_DIR)
    report.add_argument("--reports", default=REPORTS_DIR)
    report.add_argument(
        "--refresh",
        action="store_true",
        help="also re-render the other reports from their metrics.json and details.jsonl (scores unchanged; "
        "95%% intervals and run cards added where missing)",
    )
    common(report)
    report.set_defaults(func=cmd_report)

    compare = sub.add_parser("compare", help="paired bootstrap of two runs on the same sentences (A - B)")
    compare.add_argument("run_a", metavar="RUN_A")
    compare.add_argument("run_b", metavar="RUN_B")
    compare.add_argument("--reports", default=REPORTS_DIR)
    compare.add_argument("--json", action="store_true", help='{"official.macro_f1": {"a", "b", "delta", "ci95", "p"}, ...}')
    compare.set_defaults(func=cmd_compare)

    ensemble = sub.add_parser("ensemble", help="per-sentence entity vote of runs on one split -> reports/NAME/")
    ensemble.add_argument("runs", nargs="+", metavar="RUN")
    ensemble.add_argument("--name", required=True, help="the ensemble's run name")
    ensemble.add_argument("--min-votes", type=int, default=None, help="votes an entity needs (default: a majority)")
    ensemble.add_argument("--reports", default=REPORTS_DIR)
    ensemble.add_argument("--data-dir", default=DATA_DIR, help=f"where `make data` wrote manifest.json (default: {DATA_DIR})")
    ensemble.set_defaults(func=cmd_ensemble)

    submit = sub.add_parser("submit", help="write the CLUENER-format (leaderboard) predictions file")
    submit.add_argument("predictions", help=PREDICTIONS_FILE)
    gold_options(submit, required=False, default_split="test")
    submit.add_argument("--out", required=True)
    common(submit)
    submit.set_defaults(func=cmd_submit)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "split_name", None) and not args.gold:
        parser.error("--split-name goes with --gold (a --split names itself)")
    previous = {}
    if threading.current_thread() is threading.main_thread():  # a stop signal: Stopped, caught below
        previous = catch(stop)
    stdout, sys.stdout = sys.stdout, QuietPipe(sys.stdout)
    try:
        return args.func(args)
    except (*INPUT_ERRORS, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a path the user gave that cannot be read or written (permissions, a full disk, ...)
        print(f"error: {os_error_text(exc, getattr(args, 'out', None) or getattr(args, 'reports', None))}",
              file=sys.stderr)  # fmt: skip
        return 1
    except BaseException as exc:  # a stop signal, also one that a C extension's import turned into its own error
        signum = stop_signal_of(exc)
        if signum is None:
            raise
        print(f"error: interrupted ({signal.Signals(signum).name}): stopped; nothing was left half-written "
              "(a report or file being written was dropped, the earlier one stays)", file=sys.stderr)  # fmt: skip
        return 128 + signum
    finally:
        sys.stdout.flush()
        sys.stdout = stdout
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
